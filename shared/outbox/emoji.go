package outbox

import "unicode/utf8"

// Emoji code points used in sequences.
const (
	zwj           = 0x200D // joins emoji into one (👩‍💻)
	variation16   = 0xFE0F // asks for emoji presentation
	keycapMark    = 0x20E3
	blackFlag     = 0x1F3F4 // starts a tag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿)
	tagFirst      = 0xE0020
	tagLast       = 0xE007E
	tagCancel     = 0xE007F
	regionalFirst = 0x1F1E6
	regionalLast  = 0x1F1FF
	skinFirst     = 0x1F3FB
	skinLast      = 0x1F3FF
)

// maxEmojiRunes bounds one emoji sequence; the longest in Unicode (family and tag sequences)
// are well under it.
const maxEmojiRunes = 16

// pictographic are the ranges of code points that are emoji on their own, a superset of
// Unicode's Extended_Pictographic kept short: the symbol blocks where emoji live, plus the
// scattered older ones.
var pictographic = [][2]rune{
	{0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C}, {0x2049, 0x2049},
	{0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x21AA}, {0x231A, 0x23FF},
	{0x24C2, 0x24C2}, {0x25AA, 0x25FE}, {0x2600, 0x27BF}, {0x2934, 0x2935},
	{0x2B05, 0x2B55}, {0x3030, 0x3030}, {0x303D, 0x303D}, {0x3297, 0x3299},
	{0x1F000, 0x1F1E5}, {0x1F200, 0x1FAFF},
}

func isPictographic(r rune) bool {
	for _, rg := range pictographic {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// isEmoji reports whether s is exactly one emoji, what WhatsApp's apps let a reaction be: a
// pictograph with an optional variation selector and skin tone, or a ZWJ sequence of those
// (👩🏽‍💻); a keycap (1️⃣); a flag (two regional indicators, 🇮🇩); or a tag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
// It does not check that a sequence is one Unicode recommends, only its shape.
func isEmoji(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEmojiRunes {
		return false
	}
	rs := []rune(s)
	switch {
	case len(rs) == 0:
		return false
	case isKeycapBase(rs[0]):
		return keycap(rs[1:])
	case isRegional(rs[0]):
		return len(rs) == 2 && isRegional(rs[1])
	case rs[0] == blackFlag && len(rs) > 1 && isTag(rs[1]):
		return tagSequence(rs[1:])
	}
	for {
		n := element(rs)
		if n == 0 {
			return false
		}
		rs = rs[n:]
		if len(rs) == 0 {
			return true
		}
		if rs[0] != zwj || len(rs) == 1 {
			return false
		}
		rs = rs[1:]
	}
}

// element returns the length of the pictograph with its modifiers that starts rs, 0 if none.
func element(rs []rune) int {
	if !isPictographic(rs[0]) {
		return 0
	}
	n := 1
	if n < len(rs) && rs[n] == variation16 {
		n++
	}
	if n < len(rs) && rs[n] >= skinFirst && rs[n] <= skinLast {
		n++
	}
	return n
}

func isKeycapBase(r rune) bool { return r == '#' || r == '*' || (r >= '0' && r <= '9') }

func keycap(rest []rune) bool {
	if len(rest) == 2 && rest[0] == variation16 {
		rest = rest[1:]
	}
	return len(rest) == 1 && rest[0] == keycapMark
}

func isRegional(r rune) bool { return r >= regionalFirst && r <= regionalLast }

func isTag(r rune) bool { return r >= tagFirst && r <= tagLast }

func tagSequence(rest []rune) bool {
	for i, r := range rest {
		if r == tagCancel {
			return i > 0 && i == len(rest)-1
		}
		if !isTag(r) {
			return false
		}
	}
	return false
}
