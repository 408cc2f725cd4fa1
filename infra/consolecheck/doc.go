// Package consolecheck holds the web console's browser tests: console_test.go starts a local
// stack (infra/devstack, with the simulated WhatsApp) and a webhook receiver, and runs
// scenario.mjs, which drives Debian's chromium with playwright-core through the issue's
// scenario, records every request the page makes, checks each screen with axe-core and saves
// its screenshot in docs/console/. The npm packages are pinned in package-lock.json and
// installed by `make test` (make console-test-tools); without them or the browser the test
// fails, it never skips.
package consolecheck
