package host

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/shared/media"
)

// MediaBucket is where received files go: media.Bucket in production.
type MediaBucket interface {
	Put(ctx context.Context, key string, data []byte, o media.Object) error
}

// Media downloads the file of each media message a session receives (or its phone sends) and
// stores it, so the event links it (DESIGN.md §8).
//
// When: while the message's event is being made, before it is published and WhatsApp acked,
// so a webhook never points at a file that is not stored yet, and a file whose storing fails
// is downloaded again when WhatsApp delivers the unacked message again. A connection's events
// are handled one at a time, so the messages behind a media message wait for it: Timeout
// bounds that wait, retries included. A file over MaxBytes is not downloaded at all. Either
// way the event is published, with url null and error saying why.
type Media struct {
	Bucket   MediaBucket
	Links    *media.Links
	MaxBytes int64
	Timeout  time.Duration
	Logger   *slog.Logger
	// Backoff is the wait before each retry of a download that failed in a way that may pass.
	Backoff []time.Duration
}

// Downloader downloads and decrypts a message's file: whatsmeow's Download.
type Downloader interface {
	Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)
}

// downloadable returns a message's file, nil when it has none: the same kinds, in the same
// order, as convert reads them.
func downloadable(m *waE2E.Message) (whatsmeow.DownloadableMessage, string) {
	switch {
	case m.GetImageMessage() != nil:
		return m.GetImageMessage(), ""
	case m.GetVideoMessage() != nil:
		return m.GetVideoMessage(), ""
	case m.GetPtvMessage() != nil:
		return m.GetPtvMessage(), ""
	case m.GetAudioMessage() != nil:
		return m.GetAudioMessage(), ""
	case m.GetDocumentMessage() != nil:
		return m.GetDocumentMessage(), m.GetDocumentMessage().GetFileName()
	case m.GetStickerMessage() != nil:
		return m.GetStickerMessage(), ""
	}
	return nil, ""
}

// sized is what every downloadable message also has.
type sized interface {
	GetFileLength() uint64
	GetMimetype() string
}

// Store downloads and stores evt's file; nil when the message has none.
func (m *Media) Store(d Downloader, instanceID string, evt *events.Message) *convert.Stored {
	if evt.Message == nil || evt.Message.GetProtocolMessage() != nil {
		return nil
	}
	file, fileName := downloadable(evt.Message)
	if file == nil {
		return nil
	}
	id := media.StoredID(evt.Info.Chat.String(), evt.Info.Sender.ToNonAD().String(), evt.Info.ID)
	stored := &convert.Stored{MediaID: id}
	s, _ := file.(sized)
	if s != nil && int64(s.GetFileLength()) > m.MaxBytes {
		stored.Error = fmt.Sprintf("the file (%d bytes) is larger than this gateway stores (%d bytes, MEDIA_MAX_BYTES)", s.GetFileLength(), m.MaxBytes)
		return stored
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.Timeout)
	defer cancel()
	start := time.Now()
	data, err := m.download(ctx, d, file)
	if err == nil && int64(len(data)) > m.MaxBytes {
		err = fmt.Errorf("the file (%d bytes) is larger than this gateway stores (%d bytes, MEDIA_MAX_BYTES)", len(data), m.MaxBytes)
	}
	if err == nil {
		o := media.Object{SHA256: base64.StdEncoding.EncodeToString(file.GetFileSHA256()), FileName: fileName}
		if s != nil {
			o.ContentType = s.GetMimetype()
		}
		if err = m.Bucket.Put(ctx, media.Key(instanceID, id), data, o); err != nil {
			err = fmt.Errorf("store the file: %w", err)
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("download and store took longer than %s (MEDIA_DOWNLOAD_TIMEOUT): %w", m.Timeout, err)
		}
		m.Logger.Warn("media not stored", "instanceId", instanceID, "messageId", evt.Info.ID, "mediaId", id, "error", err, "ms", time.Since(start).Milliseconds())
		stored.Error = err.Error()
		return stored
	}
	link, _ := m.Links.Link(instanceID, id, time.Now())
	stored.URL = &link
	m.Logger.Debug("media stored", "instanceId", instanceID, "messageId", evt.Info.ID, "mediaId", id, "bytes", len(data), "ms", time.Since(start).Milliseconds())
	return stored
}

// download tries until the file comes, a failure that will not pass (the file is corrupt or
// gone), or ctx ends.
func (m *Media) download(ctx context.Context, d Downloader, file whatsmeow.DownloadableMessage) ([]byte, error) {
	for try := 0; ; try++ {
		data, err := d.Download(ctx, file)
		if err == nil {
			return data, nil
		}
		if final(err) || try >= len(m.Backoff) || ctx.Err() != nil {
			return nil, fmt.Errorf("download: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("download: %w (then %w)", err, ctx.Err())
		case <-time.After(m.Backoff[try]):
		}
	}
}

// final reports a download failure another try cannot mend.
func final(err error) bool {
	for _, e := range []error{
		whatsmeow.ErrInvalidMediaHMAC, whatsmeow.ErrInvalidMediaEncSHA256, whatsmeow.ErrInvalidMediaSHA256,
		whatsmeow.ErrFileLengthMismatch, whatsmeow.ErrTooShortFile, whatsmeow.ErrNoURLPresent,
		whatsmeow.ErrMediaDownloadFailedWith403, whatsmeow.ErrMediaDownloadFailedWith404, whatsmeow.ErrMediaDownloadFailedWith410,
		whatsmeow.ErrUnknownMediaType,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
