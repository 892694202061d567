package ingest

import (
	"fmt"
	"strconv"
)

// FieldError is a per-line parse failure. Reason groups errors for the skip report ("bad dst
// port"); Error gives the detail with the offending value quoted and truncated.
type FieldError struct {
	What  string // the reason without the value: "bad dst port", "wrong field count"
	Value string // offending value, already truncated
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.What
	}
	return e.What + " " + e.Value
}

// Reason is the key skipped lines are counted under.
func (e *FieldError) Reason() string { return e.What }

// badField reports a field whose value could not be parsed. It allocates, but only on bad lines.
func badField(field string, value []byte) error {
	const max = 48
	v := value
	suffix := ""
	if len(v) > max {
		v, suffix = v[:max], "…"
	}
	return &FieldError{What: "bad " + field, Value: strconv.Quote(string(v)) + suffix}
}

// fieldCount reports a line with too few or too many fields.
func fieldCount(got int, want string) error {
	return &FieldError{What: "wrong field count", Value: fmt.Sprintf("(%d fields, want %s)", got, want)}
}

// missingField reports a line that lacks a required field.
func missingField(field string) error {
	return &FieldError{What: "missing " + field}
}

// errNoRecord marks a line that carries no record and is not an error (a comment, a Zeek log
// type's line that has no flow). Such lines are not counted as skipped.
var errNoRecord = &FieldError{What: "no record"}

func reasonOf(err error) string {
	if fe, ok := err.(*FieldError); ok {
		return fe.Reason()
	}
	return err.Error()
}
