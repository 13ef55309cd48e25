// Package overlay draws an attribution over its image as a PNG file. It is
// kept apart from package explain so that computing attributions (in a
// server, say) does not link the plotting stack.
package overlay

import (
	"fmt"

	"github.com/strata-dl/strata/explain"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/tensor"
)

// Save writes sample i of the attribution a of images x [n, h, w, c] as a
// PNG at path (its directory is created): explain.DisplayMap over the
// image, captioned with explain.Caption. Signed maps use a diverging
// colormap. It returns an error if the shapes do not match or the file
// cannot be written.
func Save(path string, x *tensor.Tensor, a *explain.Attribution, i int) error {
	if a == nil || a.Map == nil || x == nil || x.Rank() != 4 || i < 0 || i >= x.Dim(0) || a.Map.Rank() != 4 || a.Map.Dim(0) != x.Dim(0) || i >= len(a.Classes) {
		return fmt.Errorf("overlay: need images [n, h, w, c] with their attribution and a sample index in range")
	}
	return plot.SaveOverlay(path, x.Slice(i, i+1), explain.DisplayMap(a, i), plot.OverlayOptions{Caption: explain.Caption(a, i)})
}
