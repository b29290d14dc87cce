package events

// DiffJSON is the JSON path of Diff, for the test that holds the fast
// path to it.
var DiffJSON = diffJSON
