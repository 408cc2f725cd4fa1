package lease_test

import (
	"testing"

	"github.com/wagate/wagate/shared/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }
