package nn

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strings"
	"testing"
)

// TestSharedFieldsAlike checks that the recurrent layers, and the two
// convolutions, declare the fields they share with the same type, the
// same comment and in the same order (see the package doc, Shared fields).
func TestSharedFieldsAlike(t *testing.T) {
	fset := token.NewFileSet()
	type field struct{ name, typ, doc string }
	structs := map[string][]field{}
	for _, file := range []string{"rnn.go", "conv.go", "generative.go"} {
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, fl := range st.Fields.List {
				for _, nm := range fl.Names {
					if nm.IsExported() {
						structs[ts.Name.Name] = append(structs[ts.Name.Name], field{nm.Name, types.ExprString(fl.Type), strings.TrimSpace(fl.Comment.Text() + fl.Doc.Text())})
					}
				}
			}
			return false
		})
	}
	for _, group := range [][]string{{"SimpleRNN", "LSTM", "GRU"}, {"Conv2D", "ConvTranspose2D"}} {
		for _, a := range group {
			for _, b := range group {
				if a >= b {
					continue
				}
				var orderA, orderB []string
				for _, fa := range structs[a] {
					for _, fb := range structs[b] {
						if fa.name != fb.name {
							continue
						}
						orderA = append(orderA, fa.name)
						if fa.typ != fb.typ || fa.doc != fb.doc || fa.doc == "" {
							t.Errorf("%s.%s (%s // %s) and %s.%s (%s // %s) differ or are undocumented", a, fa.name, fa.typ, fa.doc, b, fb.name, fb.typ, fb.doc)
						}
					}
				}
				for _, fb := range structs[b] {
					if slices.Contains(orderA, fb.name) {
						orderB = append(orderB, fb.name)
					}
				}
				if len(orderA) < 10 || !slices.Equal(orderA, orderB) {
					t.Errorf("shared fields of %s %v and %s %v: want at least 10, in the same order", a, orderA, b, orderB)
				}
			}
		}
	}
}
