//go:build race

package main

// raceEnabled says the test binary was built with -race, so the mock
// binary is built the same way and shares the build cache.
const raceEnabled = true
