// Package onnxpb is the Go code generated from ONNX's onnx.proto (ONNX
// 1.12.0, IR version 8, as shipped by Debian's python3-onnx 1.12.0-2 under
// /usr/lib/python3/dist-packages/onnx/onnx.proto, copied here unchanged).
//
// Regenerate with protoc (Debian's protobuf-compiler) and protoc-gen-go at
// the google.golang.org/protobuf version of go.mod:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx/onnxpb/
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/strata-dl/strata/onnx/onnxpb onnx.proto
