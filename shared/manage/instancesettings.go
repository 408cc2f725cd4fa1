package manage

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/store"
)

// InstanceSettings configures the instances function, read from its environment.
type InstanceSettings struct {
	InstancesTable string // INSTANCES_TABLE
	CursorKey      []byte // API_CURSOR_KEY, at least 16 characters
	AllowHTTP      bool   // WEBHOOK_ALLOW_HTTP, "true" to accept plain http webhook URLs
}

// LoadInstanceSettings reads InstanceSettings through getenv (os.Getenv in production).
func LoadInstanceSettings(getenv func(string) string) (InstanceSettings, error) {
	s := InstanceSettings{InstancesTable: getenv("INSTANCES_TABLE"), CursorKey: []byte(getenv("API_CURSOR_KEY"))}
	if s.InstancesTable == "" {
		return InstanceSettings{}, fmt.Errorf("INSTANCES_TABLE is not set")
	}
	if len(s.CursorKey) < 16 {
		return InstanceSettings{}, fmt.Errorf("API_CURSOR_KEY must be at least 16 characters")
	}
	if v := getenv("WEBHOOK_ALLOW_HTTP"); v != "" {
		var err error
		if s.AllowHTTP, err = strconv.ParseBool(v); err != nil {
			return InstanceSettings{}, fmt.Errorf("WEBHOOK_ALLOW_HTTP: %w", err)
		}
	}
	return s, nil
}

// NewInstanceAPIFromConfig wires an InstanceAPI to DynamoDB.
func NewInstanceAPIFromConfig(cfg aws.Config, s InstanceSettings) *InstanceAPI {
	return NewInstanceAPI(InstanceDeps{
		Store:     store.NewInstanceStore(dynamodb.NewFromConfig(cfg), s.InstancesTable),
		Cursors:   apigw.NewCursors(s.CursorKey),
		AllowHTTP: s.AllowHTTP,
	})
}
