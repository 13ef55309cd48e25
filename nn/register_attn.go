package nn

// The attention, Transformer, positional, 1-D convolution and global
// pooling layers register under their Go type names, as the other layers
// of nn do (see config.go), so that model files save and load them.
func init() {
	for name, f := range map[string]func() Layer{
		"MultiHeadAttention":         func() Layer { return &MultiHeadAttention{} },
		"TransformerBlock":           func() Layer { return &TransformerBlock{} },
		"PositionEmbedding":          func() Layer { return &PositionEmbedding{} },
		"SinusoidalPositionEncoding": func() Layer { return &SinusoidalPositionEncoding{} },
		"Conv1D":                     func() Layer { return &Conv1D{} },
		"GlobalAveragePooling1D":     func() Layer { return &GlobalAveragePooling1D{} },
		"GlobalMaxPooling1D":         func() Layer { return &GlobalMaxPooling1D{} },
		"GlobalMaxPooling2D":         func() Layer { return &GlobalMaxPooling2D{} },
	} {
		RegisterLayer(name, f)
	}
}
