//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package ca

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lock takes an exclusive lock on the CA directory by creating D/.lock
// exclusively, waiting up to 10 s for another process to release it.
// (A lock file left by a crashed process must be removed by hand.)
func lock(dir string) (unlock func(), err error) {
	p := filepath.Join(dir, ".lock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(p) }, nil
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("ca: lock %s: %w (remove it if no opendcc process is running)", p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
