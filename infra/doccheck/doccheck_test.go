package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/samtemplate"
)

// Every relative link of the repository's Markdown documents (README.md, docs/ and any other
// outside dot directories and testdata) names a file that exists and a heading it has.
func TestRepositoryLinksResolve(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".md") {
			docs = append(docs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", filepath.Join("docs", "api.md")} {
		if !slices.Contains(docs, filepath.Join(root, want)) {
			t.Fatalf("found %v; want %s among them", docs, want)
		}
	}
	for _, doc := range docs {
		for _, err := range CheckFile(doc) {
			t.Error(err)
		}
	}
}

func TestCheckFileAcceptsGoodLinks(t *testing.T) {
	path := filepath.Join("testdata", "good.md")
	for _, err := range CheckFile(path) {
		t.Error(err)
	}

	// The fixture's links were all found, and none of those in code.
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range Links(doc) {
		got = append(got, l.Destination)
	}
	want := []string{
		"other.md", "other.md#dependencies-and-why", "#make-dev-on-localstack", "#same-1", "sub/",
		"sub/file.txt", "sub/file.txt#L3", "sub/file.txt", "https://example.com/missing.md#x",
		"mailto:someone@example.com", "other.md#a-heading-with-a-link",
	}
	if !slices.Equal(got, want) {
		t.Errorf("links found:\n %q\nwant:\n %q", got, want)
	}
}

func TestCheckFileReportsBrokenLinks(t *testing.T) {
	for _, c := range []struct {
		file string
		want string // in the one error, after "<file>:<line>: link <destination>: "
		line int
	}{
		{"missing-file.md", "no such file", 3},
		{"missing-heading.md", "has no heading anchored #no-such-heading", 3},
		{"missing-local-heading.md", "has no heading anchored #below", 3},
		{"third-of-two.md", "has no heading anchored #same-2", 5},
		{"fragment-not-markdown.md", "is not Markdown and has no headings to link to", 3},
		{"reference.md", "no such file", 5},
		{"image.md", "no such file", 3},
		{"empty.md", "empty destination", 3},
		{"lone-backtick.md", "no such file", 3},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", c.file)
			errs := CheckFile(path)
			if len(errs) != 1 {
				t.Fatalf("CheckFile(%s) = %v; want one error", path, errs)
			}
			prefix := path + ":" + strconv.Itoa(c.line) + ": link "
			if msg := errs[0].Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, c.want) {
				t.Errorf("error %q; want it to begin %q and say %q", msg, prefix, c.want)
			}
		})
	}
}

func TestCheckFileReportsAnUnreadableFile(t *testing.T) {
	if errs := CheckFile(filepath.Join("testdata", "absent.md")); len(errs) != 1 {
		t.Errorf("CheckFile of a missing file = %v; want one error", errs)
	}
}

func TestSlug(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"Dependencies, and why", "dependencies-and-why"},
		{"Delivery, as built", "delivery-as-built"},
		{"`make dev` on LocalStack", "make-dev-on-localstack"},
		{"`GET /api/instance/{instanceId}/webhook-secret`", "get-apiinstanceinstanceidwebhook-secret"},
		{"A heading with [a link](good.md)", "a-heading-with-a-link"},
		{"snake_case and §2.1", "snake_case-and-21"},
		{"Ünïcode Straße", "ünïcode-straße"},
		{"Two  spaces", "two--spaces"},
	} {
		t.Run(c.heading, func(t *testing.T) {
			if got := Slug(c.heading); got != c.want {
				t.Errorf("Slug(%q) = %q, want %q", c.heading, got, c.want)
			}
		})
	}
}

func TestAnchors(t *testing.T) {
	doc := "# Title #\n\n## Same\n\n```\n## In a fence\n```\n\n#not-a-heading\n\n## Same\n\n####### seven\n"
	got := Anchors([]byte(doc))
	for _, want := range []string{"title", "same", "same-1"} {
		if !got[want] {
			t.Errorf("Anchors lacks %q: %v", want, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("Anchors = %v; want only title, same and same-1", got)
	}
}
