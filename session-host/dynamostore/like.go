package dynamostore

import (
	"strings"
	"unicode/utf8"
)

// sqlstore deletes and migrates "all sessions of a phone" with `their_id LIKE phone || ':%'`,
// and DeleteIdentity with `their_id LIKE address`. SQLite's LIKE (the reference) treats `%` as
// any run of characters and `_` as any one character, and folds ASCII letters only. A LID's
// signal user is "<lid>_1", so its `_` really is a wildcard there: likeMatch reproduces that
// rather than doing a plain prefix test.

// likeMatch reports whether s matches the SQLite LIKE pattern (no ESCAPE clause).
func likeMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		p, size := utf8.DecodeRuneInString(pattern)
		switch p {
		case '%':
			rest := pattern[size:]
			// Runs of % match like one.
			for strings.HasPrefix(rest, "%") {
				rest = rest[1:]
			}
			if rest == "" {
				return true
			}
			for i := 0; i <= len(s); {
				if likeMatch(rest, s[i:]) {
					return true
				}
				if i == len(s) {
					break
				}
				_, n := utf8.DecodeRuneInString(s[i:])
				i += n
			}
			return false
		case '_':
			if s == "" {
				return false
			}
			_, n := utf8.DecodeRuneInString(s)
			s = s[n:]
		default:
			if s == "" {
				return false
			}
			r, n := utf8.DecodeRuneInString(s)
			if foldASCII(r) != foldASCII(p) {
				return false
			}
			s = s[n:]
		}
		pattern = pattern[size:]
	}
	return s == ""
}

func foldASCII(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}

// likeLiteralPrefix is the longest prefix every string matching pattern starts with, byte for
// byte: it stops at the first wildcard or ASCII letter (which LIKE matches in either case).
// A sort-key begins_with on it finds every candidate; likeMatch then decides.
func likeLiteralPrefix(pattern string) string {
	for i, r := range pattern {
		if r == '%' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return pattern[:i]
		}
	}
	return pattern
}
