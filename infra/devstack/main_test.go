package devstack_test

import (
	"testing"

	"github.com/wagate/wagate/infra/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }
