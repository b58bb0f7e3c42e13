package core

import (
	"fmt"

	"github.com/pkg/errors"
)

// UsageError is bad input from the user (a flag, the YAML file, an engine
// version): dinv exits 2 before any stage has run.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...interface{}) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is, or wraps, a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}
