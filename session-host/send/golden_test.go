package send

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/shared/outbox"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

var (
	ownJID  = types.NewADJID("6280000000001", 0, 12) // this account's device
	ownLID  = types.NewJID("100000000000001", types.HiddenUserServer)
	contact = types.NewJID("6281234567890", types.DefaultUserServer)
	member  = types.NewJID("6281111111111", types.DefaultUserServer)
	now     = time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
)

// builder is a Builder for ownJID on a client that never connects.
func builder() *Builder {
	own := ownJID
	return NewBuilder(whatsmeow.NewClient(&store.Device{ID: &own, LID: ownLID}, nil))
}

func upload(mimetype string, seconds uint32) *Upload {
	return &Upload{
		UploadResponse: whatsmeow.UploadResponse{
			URL:           "https://mmg.whatsapp.net/v/t62.7118-24/fixed.enc?ccb=11-4",
			DirectPath:    "/v/t62.7118-24/fixed.enc?ccb=11-4",
			MediaKey:      bytes.Repeat([]byte{1}, 32),
			FileEncSHA256: bytes.Repeat([]byte{2}, 32),
			FileSHA256:    bytes.Repeat([]byte{3}, 32),
			FileLength:    12345,
		},
		Mimetype: mimetype,
		Seconds:  seconds,
	}
}

// goldenInputs is what the host would know for each testdata/<name>.request.json.
var goldenInputs = map[string]Input{
	"text":         {Now: now},
	"text_preview": {Now: now},
	"text_reply": {Now: now, Quoted: &Quoted{Sender: contact, Message: &waE2E.Message{
		Conversation: proto.String("Lunch at noon?")}}},
	"text_mentions":         {Now: now, Quoted: &Quoted{Sender: ownJID}}, // quoting our own message, content unknown
	"image":                 {Now: now, Upload: upload("image/jpeg", 0)},
	"image_view_once":       {Now: now, Upload: upload("image/png", 0)},
	"video":                 {Now: now, Upload: upload("video/mp4", 42)},
	"audio":                 {Now: now, Upload: upload("audio/mpeg", 185)},
	"audio_voice":           {Now: now, Upload: upload("audio/ogg", 7)},
	"audio_voice_view_once": {Now: now, Upload: upload("audio/ogg", 7)},
	"document":              {Now: now, Upload: upload("application/pdf", 0)},
	"sticker":               {Now: now, Upload: upload("image/webp", 0)},
	"location":              {Now: now},
	"contact":               {Now: now},
	"contacts":              {Now: now, Quoted: &Quoted{Sender: contact}},
	"reaction":              {Now: now, Quoted: &Quoted{Sender: contact}},
	"reaction_group":        {Now: now, Quoted: &Quoted{Sender: member}},
	"reaction_remove":       {Now: now, Quoted: &Quoted{Sender: ownJID}},
	"poll":                  {Now: now, Secret: bytes.Repeat([]byte{7}, SecretSize)},
	"poll_any":              {Now: now, Secret: bytes.Repeat([]byte{8}, SecretSize)},
}

// TestGolden builds every testdata request through outbox.Parse and Build, the host's path,
// and compares the message with its golden protojson.
func TestGolden(t *testing.T) {
	requests, err := filepath.Glob(filepath.Join("testdata", "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range requests {
		names = append(names, strings.TrimSuffix(filepath.Base(path), ".request.json"))
	}
	for name := range goldenInputs {
		if !slices.Contains(names, name) {
			t.Errorf("testdata/%s.request.json is missing", name)
		}
	}
	covered := map[outbox.Type]bool{}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			in, ok := goldenInputs[name]
			if !ok {
				t.Fatalf("no input for testdata/%s.request.json in goldenInputs", name)
			}
			body, err := os.ReadFile(filepath.Join("testdata", name+".request.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := outbox.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			covered[m.Type] = true
			got, err := builder().Build(m, in)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".golden.json"), got)
		})
	}
	for _, typ := range []outbox.Type{outbox.TypeText, outbox.TypeImage, outbox.TypeVideo, outbox.TypeAudio,
		outbox.TypeDocument, outbox.TypeSticker, outbox.TypeLocation, outbox.TypeContacts, outbox.TypeReaction, outbox.TypePoll} {
		if !covered[typ] {
			t.Errorf("no golden test of type %s", typ)
		}
	}
}

// golden compares got with the protojson message in path, as protos: protojson's spacing is
// deliberately unstable, so the file is written re-indented by encoding/json and read back
// with protojson. With -update it rewrites the file.
func golden(t *testing.T, path string, got *waE2E.Message) {
	t.Helper()
	raw, err := protojson.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var compact, pretty bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&pretty, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var wantMsg waE2E.Message
	if err := protojson.Unmarshal(want, &wantMsg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !proto.Equal(got, &wantMsg) {
		t.Errorf("%s differs\n got: %s\nwant: %s", path, pretty.Bytes(), want)
	}
}

// actionInputs is what the host would know for each testdata/<name>.stored.json: the edit and
// revoke records the message routes store, which the host reads back from the outbox.
var actionInputs = map[string]Input{
	"edit_text":    {Now: now, Target: &outbox.Message{Type: outbox.TypeText}},
	"edit_caption": {Now: now, Target: &outbox.Message{Type: outbox.TypeImage}},
	"revoke":       {Now: now},
}

// TestGoldenActions builds the actions that are sent as messages from their stored form, as
// the host decodes it, and compares each with its golden protojson.
func TestGoldenActions(t *testing.T) {
	for name, in := range actionInputs {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", name+".stored.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := outbox.DecodeStored(body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := builder().Build(m, in)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".golden.json"), got)
		})
	}
}

// An edit must match what it edits: a text's text, a caption of media that has one.
func TestEditRefusesWhatItCannotChange(t *testing.T) {
	for _, tt := range []struct {
		name   string
		edit   outbox.Edit
		target *outbox.Message
	}{
		{"no target", outbox.Edit{MessageID: "3EB0AA", Text: "x"}, nil},
		{"caption of a text", outbox.Edit{MessageID: "3EB0AA", Caption: "x"}, &outbox.Message{Type: outbox.TypeText}},
		{"text of an image", outbox.Edit{MessageID: "3EB0AA", Text: "x"}, &outbox.Message{Type: outbox.TypeImage}},
		{"caption of audio", outbox.Edit{MessageID: "3EB0AA", Caption: "x"}, &outbox.Message{Type: outbox.TypeAudio}},
		{"a poll", outbox.Edit{MessageID: "3EB0AA", Text: "x"}, &outbox.Message{Type: outbox.TypePoll}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &outbox.Message{Chat: contact.String(), Type: outbox.TypeEdit, Edit: &tt.edit}
			if msg, err := builder().Build(m, Input{Now: now, Target: tt.target}); err == nil {
				t.Fatalf("built %v", msg)
			}
		})
	}
}
