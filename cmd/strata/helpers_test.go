package main

import "github.com/strata-dl/strata/data"

func mnistDirForTest() (string, error) { return data.MNISTDir() }
