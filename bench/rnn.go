package bench

// The recurrent training workloads of bench/torch/twin.py:
// LSTM(128) and GRU(128) over 28 steps of 28 features (MNIST read row by
// row) → dense 10, Adam 1e-3, batch 64, sparse categorical cross-entropy,
// one Model.TrainStep per step (the zoo's lstm and gru classifiers).
func init() {
	register("lstm_train", trainWorkload("lstm_train", "lstm", 64, []int{28, 28}))
	register("gru_train", trainWorkload("gru_train", "gru", 64, []int{28, 28}))
}
