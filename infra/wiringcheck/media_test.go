package wiringcheck

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestMediaBucketAccess: the media bucket is reached over TLS only, and exactly these may do
// anything with its objects: the session host puts the files it stores (wa_…) and reads
// uploads (up_…) to send them; the media function reads every file (HEAD, presigned GETs) and
// presigns uploads' PUTs; the messages function reads uploads (a HEAD before queueing).
func TestMediaBucketAccess(t *testing.T) {
	tpl := template(t)
	var policy struct {
		Properties struct {
			PolicyDocument struct{ Statement []statement }
		}
	}
	if err := tpl.Resource("MediaBucketPolicy", &policy); err != nil {
		t.Fatal(err)
	}
	tls := false
	for _, s := range policy.Properties.PolicyDocument.Statement {
		secure := s.Condition["Bool"]["aws:SecureTransport"]
		tls = tls || (s.Effect == "Deny" && slices.Equal(strs(s.Action), []string{"s3:*"}) && secure == "false")
	}
	if !tls {
		t.Errorf("MediaBucketPolicy: no statement denies s3:* without TLS: %+v", policy)
	}

	// Every statement of every role and function that names an s3 action, as
	// "<resource> <action> <object resource>"; !Sub drops the bucket's ARN, leaving the key part.
	got := map[string]bool{}
	add := func(owner string, stmts []statement) {
		for _, s := range stmts {
			for _, a := range strs(s.Action) {
				if !strings.HasPrefix(a, "s3:") {
					continue
				}
				for _, r := range strs(s.Resource) {
					got[owner+" "+a+" "+r] = true
				}
			}
		}
	}
	roles, err := tpl.ResourceIDs("AWS::IAM::Role")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range roles {
		var role struct {
			Properties struct {
				Policies []struct {
					PolicyDocument struct{ Statement []statement }
				}
			}
		}
		if err := tpl.Resource(id, &role); err != nil {
			t.Fatal(err)
		}
		for _, p := range role.Properties.Policies {
			add(id, p.PolicyDocument.Statement)
		}
	}
	for _, id := range tpl.FunctionIDs() {
		var fn struct {
			Properties struct {
				Policies []struct{ Statement []statement }
			}
		}
		if err := tpl.Resource(id, &fn); err != nil {
			t.Fatal(err)
		}
		for _, p := range fn.Properties.Policies {
			add(id, p.Statement)
		}
	}
	want := []string{
		"MediaFunction s3:GetObject /*",
		"MediaFunction s3:PutObject /*/up_*",
		"MessagesFunction s3:GetObject /*/up_*",
		"SessionHostTaskRole s3:GetObject /*/up_*",
		"SessionHostTaskRole s3:PutObject /*/wa_*",
	}
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, want) {
		t.Errorf("s3 permissions:\n got %q\nwant %q", g, want)
	}
}
