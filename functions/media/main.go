// Command media is the Lambda behind the media routes: presigned uploads for sending, fresh
// links to stored files, and the links themselves, which redirect to the file.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "MediaFunction"))
}
