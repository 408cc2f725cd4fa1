package wiringcheck

import (
	"testing"

	"github.com/wagate/wagate/infra/awstest"
)

// The tests that need DynamoDB get the emulator; the rest run without one.
func TestMain(m *testing.M) { awstest.Main(m) }
