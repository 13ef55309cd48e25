package nn

// Chained is a model whose inference Forward is nothing but its layers
// applied in order,
//
//	Forward(x) = Lₙ(…L₂(L₁(x)))  for Chain() = [L₁, L₂, …, Lₙ],
//
// outside training (Dropout is the identity there). Sequential is such a
// model by construction; a struct model (zoo.ViT, zoo.GPT) implements
// Chained to say so, listing any reshape between its layers as a Reshape
// layer, so that tools that need the flat order of a model — the ONNX
// exporter (onnx.Export) — can take it apart. Children, by contrast,
// lists a model's sub-layers for their weights, whatever Forward does
// with them.
type Chained interface {
	Chain() []Layer
}
