// Command messages is the Lambda behind the message routes: send messages, read and list
// them, edit and revoke them, and send read receipts and presence, through the outbox.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "MessagesFunction"))
}
