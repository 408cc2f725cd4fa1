// Package doccheck checks the relative links of the repository's Markdown documents: each must
// name a file or directory that exists and, when it has a #fragment into a Markdown file, a
// heading of that file, anchored the way GitHub anchors headings.
package doccheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var (
	// inlineLink matches [text](destination) and ![alt](destination), with an optional title.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// referenceDefinition matches [label]: destination.
	referenceDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?`)
	// scheme matches the start of an absolute URL (https:, mailto:) or a protocol-relative one.
	scheme = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*:|//)`)
	// atxHeading matches "## Heading", with the optional closing hashes.
	atxHeading = regexp.MustCompile(`^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	// lineFragment matches GitHub's line anchors in a file that is not Markdown (#L10, #L10-L20).
	lineFragment = regexp.MustCompile(`^L\d+(-L\d+)?$`)
)

// Link is a link found in a Markdown document.
type Link struct {
	Line        int    // 1-based line of the document it is on
	Destination string // as written, e.g. docs/cost.md#how-it-was-counted
}

// CheckFile returns an error for every relative link of the Markdown file at path that names
// no existing file or directory, or a heading its Markdown target does not have. A file that
// cannot be read is an error too.
func CheckFile(path string) []error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("read %s: %w", path, err)}
	}
	var errs []error
	for _, l := range Links(doc) {
		if err := checkLink(path, l.Destination); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: link %s: %w", path, l.Line, l.Destination, err))
		}
	}
	return errs
}

// checkLink checks one destination written in the document at from.
func checkLink(from, destination string) error {
	if destination == "" {
		return errors.New("empty destination")
	}
	if scheme.MatchString(destination) {
		return nil
	}
	target, fragment, _ := strings.Cut(destination, "#")
	target, err := url.PathUnescape(target)
	if err != nil {
		return fmt.Errorf("unescape the path: %w", err)
	}
	targetPath := from
	if target != "" {
		targetPath = filepath.Join(filepath.Dir(from), filepath.FromSlash(target))
		if _, err := os.Stat(targetPath); err != nil {
			return fmt.Errorf("no such file: %s", targetPath)
		}
	}
	if fragment == "" {
		return nil
	}
	if !strings.EqualFold(filepath.Ext(targetPath), ".md") {
		if lineFragment.MatchString(fragment) {
			return nil
		}
		return fmt.Errorf("#%s: %s is not Markdown and has no headings to link to", fragment, targetPath)
	}
	doc, err := os.ReadFile(targetPath)
	if err != nil {
		return fmt.Errorf("read %s: %w", targetPath, err)
	}
	if !Anchors(doc)[fragment] {
		return fmt.Errorf("%s has no heading anchored #%s", targetPath, fragment)
	}
	return nil
}

// Links returns the links of a Markdown document, leaving out those in fenced code blocks and
// code spans, which are text rather than links.
func Links(doc []byte) []Link {
	var links []Link
	for n, line := range proseLines(doc) {
		if line == "" {
			continue
		}
		line = withoutCodeSpans(line)
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, Link{Line: n + 1, Destination: m[1]})
		}
		if m := referenceDefinition.FindStringSubmatch(line); m != nil {
			links = append(links, Link{Line: n + 1, Destination: m[1]})
		}
	}
	return links
}

// Anchors returns the anchors GitHub gives the ATX headings of a Markdown document: the
// heading's text as Slug makes it, with -1, -2, ... added to the second, third, ... heading of
// the same slug.
func Anchors(doc []byte) map[string]bool {
	anchors, seen := map[string]bool{}, map[string]int{}
	for _, line := range proseLines(doc) {
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := Slug(m[1])
		anchor := slug
		if n := seen[slug]; n > 0 {
			anchor = slug + "-" + strconv.Itoa(n)
		}
		seen[slug]++
		anchors[anchor] = true
	}
	return anchors
}

// Slug is GitHub's anchor for a heading: the heading's text (links reduced to their text, code
// spans to their content) in lower case, each space a dash, and every character that is not a
// letter, digit, mark, dash or underscore left out.
func Slug(heading string) string {
	text := inlineLink.ReplaceAllStringFunc(heading, func(link string) string {
		return link[strings.Index(link, "[")+1 : strings.Index(link, "]")]
	})
	var b strings.Builder
	for _, c := range strings.ToLower(text) {
		switch {
		case c == ' ':
			b.WriteRune('-')
		case c == '-' || c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.IsMark(c):
			b.WriteRune(c)
		}
	}
	return b.String()
}

// proseLines returns the lines of doc with those of fenced code blocks (``` or ~~~, also
// indented in a list item) and their fences blanked, so line numbers stay true.
func proseLines(doc []byte) []string {
	var lines []string
	var fence string // the open fence's marker, "" outside a code block
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " \t")
		marker := fenceMarker(trimmed)
		switch {
		case fence == "" && marker != "":
			fence = marker
			line = ""
		case fence != "":
			if marker != "" && strings.HasPrefix(marker, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "" {
				fence = ""
			}
			line = ""
		}
		lines = append(lines, line)
	}
	return lines
}

// fenceMarker returns the run of three or more backticks or tildes that line begins with, or "".
func fenceMarker(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}

// withoutCodeSpans returns line with its code spans (text between equal runs of backticks)
// removed.
func withoutCodeSpans(line string) string {
	var b strings.Builder
	for {
		start := strings.Index(line, "`")
		if start < 0 {
			b.WriteString(line)
			return b.String()
		}
		run := len(line[start:]) - len(strings.TrimLeft(line[start:], "`"))
		end := closingRun(line[start+run:], run)
		if end < 0 {
			// An unmatched run is literal backticks.
			b.WriteString(line[:start+run])
			line = line[start+run:]
			continue
		}
		b.WriteString(line[:start])
		line = line[start+run+end+run:]
	}
}

// closingRun returns the index in s of the first run of exactly n backticks, or -1.
func closingRun(s string, n int) int {
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		if j-i == n {
			return i
		}
		i = j
	}
	return -1
}
