package nn_test

import (
	"errors"
	"testing"

	"github.com/strata-dl/strata/nn"
)

// TestUnknownTypeError checks that a type name this program does not
// register is reported as an *UnknownTypeError, also when nested in a
// Sequential, so that a program loading files can explain it.
func TestUnknownTypeError(t *testing.T) {
	for _, js := range []string{
		`{"type": "MyModel", "config": {}}`,
		`{"type": "Sequential", "config": {"Layers": [{"type": "Flatten", "config": {}}, {"type": "MyModel", "config": {}}]}}`,
	} {
		_, err := nn.UnmarshalLayer([]byte(js))
		var ut *nn.UnknownTypeError
		if !errors.As(err, &ut) || ut.Type != "MyModel" {
			t.Errorf("%s: got %v, want an *nn.UnknownTypeError for MyModel", js, err)
		}
	}
}
