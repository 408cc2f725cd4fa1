package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/shared/media"
)

// fakeDownloads answers downloads from a script: one error (nil for the file) per try, the
// last repeating; hang makes each try wait for its context.
type fakeDownloads struct {
	mu    sync.Mutex
	errs  []error
	hang  bool
	tries int
}

func (f *fakeDownloads) Download(ctx context.Context, _ whatsmeow.DownloadableMessage) ([]byte, error) {
	f.mu.Lock()
	f.tries++
	i := min(f.tries-1, len(f.errs)-1)
	f.mu.Unlock()
	if f.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if i >= 0 && f.errs[i] != nil {
		return nil, f.errs[i]
	}
	return []byte("the photo"), nil
}

type fakeMediaBucket struct {
	err  error
	puts map[string]media.Object
}

func (b *fakeMediaBucket) Put(_ context.Context, key string, data []byte, o media.Object) error {
	if b.err != nil {
		return b.err
	}
	o.Size = int64(len(data))
	b.puts[key] = o
	return nil
}

func TestMediaStore(t *testing.T) {
	chat := types.NewJID("6281234567890", types.DefaultUserServer)
	image := func(length uint64) *events.Message {
		return &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: chat, Sender: chat}, ID: "3EB0PHOTO"},
			Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
				Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(length), FileSHA256: []byte{1, 2, 3},
				URL: proto.String("https://mmg.whatsapp.net/x"), MediaKey: []byte{1},
			}},
		}
	}
	text := &events.Message{Info: image(1).Info, Message: &waE2E.Message{Conversation: proto.String("hi")}}
	wantID := media.StoredID(chat.String(), chat.String(), "3EB0PHOTO")
	transient := errors.New("connection reset by peer")
	tests := []struct {
		name      string
		evt       *events.Message
		downloads *fakeDownloads
		bucketErr error
		wantNil   bool
		wantErr   string // "" for a stored file with a url
		wantTries int
	}{
		{name: "stored", evt: image(9), downloads: &fakeDownloads{}, wantTries: 1},
		{name: "no file", evt: text, downloads: &fakeDownloads{}, wantNil: true},
		{name: "larger than the host stores: not downloaded", evt: image(1 << 30), downloads: &fakeDownloads{}, wantErr: "MEDIA_MAX_BYTES"},
		{name: "corrupt: not tried again", evt: image(9), downloads: &fakeDownloads{errs: []error{whatsmeow.ErrInvalidMediaEncSHA256}}, wantErr: "download: ", wantTries: 1},
		{name: "gone: not tried again", evt: image(9), downloads: &fakeDownloads{errs: []error{whatsmeow.ErrMediaDownloadFailedWith404}}, wantErr: "download: ", wantTries: 1},
		{name: "passes on the third try", evt: image(9), downloads: &fakeDownloads{errs: []error{transient, transient, nil}}, wantTries: 3},
		{name: "fails after its retries", evt: image(9), downloads: &fakeDownloads{errs: []error{transient}}, wantErr: "connection reset", wantTries: 3},
		{name: "hangs past the timeout", evt: image(9), downloads: &fakeDownloads{hang: true}, wantErr: "MEDIA_DOWNLOAD_TIMEOUT", wantTries: 1},
		{name: "bucket failing", evt: image(9), downloads: &fakeDownloads{}, bucketErr: errors.New("s3 down"), wantErr: "store the file: s3 down", wantTries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := &fakeMediaBucket{err: tt.bucketErr, puts: map[string]media.Object{}}
			m := &Media{
				Bucket: bucket, Links: media.NewLinks([]byte("0123456789abcdef"), "https://api.example/v1", time.Hour),
				MaxBytes: 1 << 20, Timeout: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Backoff: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond},
			}
			start := time.Now()
			got := m.Store(tt.downloads, "inst_1", tt.evt)
			if took := time.Since(start); took > time.Second {
				t.Errorf("Store took %s, past its 300 ms timeout", took)
			}
			if tt.wantNil {
				if got != nil {
					t.Fatalf("Store = %+v, want nil", got)
				}
				return
			}
			if got == nil || got.MediaID != wantID {
				t.Fatalf("Store = %+v, want media id %s", got, wantID)
			}
			if tt.downloads.tries != tt.wantTries {
				t.Errorf("%d downloads, want %d", tt.downloads.tries, tt.wantTries)
			}
			if tt.wantErr != "" {
				if got.URL != nil || !strings.Contains(got.Error, tt.wantErr) {
					t.Fatalf("Store = url %v, error %q; want no url and an error with %q", got.URL, got.Error, tt.wantErr)
				}
				return
			}
			o, ok := bucket.puts["inst_1/"+wantID]
			if got.URL == nil || got.Error != "" || !ok || o.Size != 9 || o.ContentType != "image/jpeg" || o.SHA256 != "AQID" {
				t.Fatalf("Store = %+v, stored %+v", got, bucket.puts)
			}
			inst, id, err := m.Links.Check(strings.TrimPrefix(*got.URL, "https://api.example/v1/media/"), time.Now())
			if err != nil || inst != "inst_1" || id != wantID {
				t.Errorf("the url names %s %s (%v)", inst, id, err)
			}
		})
	}
}
