// Command instances is the Lambda behind the instance routes: create, list, read, update and
// delete instances, and read and rotate their webhook secrets.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "InstancesFunction"))
}
