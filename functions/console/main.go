// Command console is the Lambda behind /console: the web console's page and its assets,
// embedded in the binary at build time (no API key; the page holds no data).
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "ConsoleFunction"))
}
