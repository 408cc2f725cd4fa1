// Command instances is the Lambda behind the instance routes: create, list, read, update and
// delete instances, and read and rotate their webhook secrets.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/manage"
)

func main() {
	settings, err := manage.LoadInstanceSettings(os.Getenv)
	if err != nil {
		log.Fatalf("configuration: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("aws config: %v", err)
	}
	router := apigw.NewRouter(lambdacontext.NewLogger())
	manage.NewInstanceAPIFromConfig(cfg, settings).Register(router)
	lambda.Start(router.Serve)
}
