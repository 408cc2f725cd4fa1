// Package wiringcheck holds tests, run by make test, that the code is wired the way
// template.yaml and the repository's layout say: which packages the shipped binaries link,
// which routes and queues each function serves, and which environment variables each reads;
// that the retry schedule fits the events queue's redrive limit; and that the session host's
// role allows the host's requests and no read of webhook secrets (against the emulator). It
// has no code of its own.
package wiringcheck
