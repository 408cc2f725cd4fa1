package devstack

import "github.com/wagate/wagate/infra/wasim"

// WhatsApp is the simulated WhatsApp network the stack's session host connects to, for tests
// that set up what its accounts show (business names, hidden pictures, about texts).
func (s *Stack) WhatsApp() *wasim.Network { return s.phones }
