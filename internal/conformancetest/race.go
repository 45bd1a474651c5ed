//go:build race

package conformancetest

// raceEnabled says the test binary was built with -race, so BuildMock
// builds the mock the same way and shares the build cache.
const raceEnabled = true
