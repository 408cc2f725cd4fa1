package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/wagate/wagate/session-host/send"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// Fetcher fetches a media link: its bytes, at most limit, and its media type ("" when the
// answer gave none). Errors it means as final are *permanentError (see LinkFetcher).
type Fetcher interface {
	Fetch(ctx context.Context, link string, limit int64) ([]byte, string, error)
}

// mediaLimit is WhatsApp's limit for a type (outbox.MediaLimit). A document may be 100 MB, and
// a host holds one file in memory per sending instance at a time.
func mediaLimit(t outbox.Type) int64 { return outbox.MediaLimit(t) }

// MediaBudget is how many bytes of fetched media one host holds at once, by default: room for
// one document at WhatsApp's limit with its encrypted copy, or several smaller files.
const MediaBudget = 2 * outbox.MaxDocumentBytes

// FetchTimeout bounds one fetch of a media link, the body included.
const FetchTimeout = 60 * time.Second

// maxRedirects bounds the redirects a media link may follow.
const maxRedirects = 5

// LinkFetcher fetches media links through the webhook sender's dial-time destination checks.
type LinkFetcher struct {
	client *http.Client
}

// NewLinkFetcher returns a fetcher that connects only where o allows, as webhooks do. It
// follows up to five redirects, each dialled through the same checks, and https only unless o
// allows http.
func NewLinkFetcher(o deliver.SenderOptions) *LinkFetcher {
	c := deliver.NewClient(o)
	c.Timeout = FetchTimeout
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		switch {
		case len(via) >= maxRedirects:
			return permanent("media link: more than %d redirects", maxRedirects)
		case req.URL.Scheme != "https" && !(o.AllowHTTP && req.URL.Scheme == "http"):
			return permanent("media link: redirect to a %s URL", req.URL.Scheme)
		}
		return nil
	}
	return &LinkFetcher{client: c}
}

// Fetch gets link. A refused destination, a redirect refused, an answer 4xx (but 408 and 429)
// and a file over limit are final; anything else may pass on another attempt.
func (f *LinkFetcher) Fetch(ctx context.Context, link string, limit int64) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, "", permanent("media link: %v", err)
	}
	req.Header.Set("User-Agent", "wagate/"+deliver.Version)
	resp, err := f.client.Do(req)
	if err != nil {
		if deliver.Refused(err) {
			return nil, "", permanent("media link: destination refused: %v", errors.Unwrap(err))
		}
		if p := (*permanentError)(nil); errors.As(err, &p) {
			return nil, "", p // a redirect refused
		}
		return nil, "", fmt.Errorf("fetch media link: %w", err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return nil, "", permanent("media link answered %d", code)
	case code < 200 || code >= 300:
		return nil, "", fmt.Errorf("media link answered %d", code)
	case resp.ContentLength > limit:
		return nil, "", tooLarge(limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("read media link: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, "", tooLarge(limit)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

func tooLarge(limit int64) error {
	return permanent("media is larger than WhatsApp's %d MB for its type", max(limit>>20, 1))
}

// Uploads reads an upload from the media bucket: at most limit bytes, and its media type.
type Uploads interface {
	Get(ctx context.Context, key string, limit int64) ([]byte, media.Object, error)
}

// upload fetches m's file when it is a link or an upload and uploads it to WhatsApp's media
// servers.
func (s *Sender) upload(ctx context.Context, m *outbox.Message) (*send.Upload, error) {
	limit := mediaLimit(m.Type)
	data, mimetype := m.Media.Data, m.Media.Mimetype
	if data == nil {
		if s.budget != nil {
			// The file, then its encrypted copy while it uploads.
			if err := s.budget.Acquire(ctx, 2*limit); err != nil {
				return nil, fmt.Errorf("wait for room to fetch the %s: %w", m.Type, err)
			}
			defer s.budget.Release(2 * limit)
		}
		var linkType string
		var err error
		if m.Media.MediaID != "" {
			data, linkType, err = s.readUpload(ctx, m.Media.MediaID, limit)
		} else {
			data, linkType, err = s.media.Fetch(ctx, m.Media.Link, limit)
		}
		if err != nil {
			return nil, err
		}
		if mimetype == "" {
			mimetype = linkType
		}
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(limit)
	}
	if mimetype == "" || mimetype == "application/octet-stream" {
		mimetype = http.DetectContentType(data)
	}
	if err := checkType(m.Type, mimetype); err != nil && m.Media.Mimetype == "" {
		return nil, err
	}
	kind, _ := send.MediaType(m.Type)
	up, err := s.client.Upload(ctx, data, kind)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", m.Type, err)
	}
	return &send.Upload{UploadResponse: up, Mimetype: mimetype}, nil
}

// checkType refuses a file whose media type (found, as the request gave none) does not fit
// its message type: a web page where an image was meant. Documents take any file.
func checkType(t outbox.Type, mimetype string) error {
	base, _, err := mime.ParseMediaType(mimetype)
	if err != nil {
		return permanent("media type %q of the %s is not valid", mimetype, t)
	}
	want := map[outbox.Type]string{
		outbox.TypeImage: "image/", outbox.TypeSticker: "image/webp", outbox.TypeVideo: "video/", outbox.TypeAudio: "audio/",
	}[t]
	if want != "" && !strings.HasPrefix(base, want) {
		return permanent("the %s's file is %s, not %s", t, base, strings.TrimSuffix(want, "/"))
	}
	return nil
}

// readUpload reads an upload of this instance: gone (expired) is final, as is one over the
// limit; the bucket failing may pass.
func (s *Sender) readUpload(ctx context.Context, mediaID string, limit int64) ([]byte, string, error) {
	if s.uploads == nil {
		return nil, "", permanent("uploads are not available on this host (no MEDIA_BUCKET)")
	}
	data, o, err := s.uploads.Get(ctx, media.Key(s.id, mediaID), limit)
	switch {
	case webhook.ErrorCode(err) == webhook.ENotFound:
		return nil, "", permanent("upload %s is gone (expired after the retention period?)", mediaID)
	case err != nil && o.Size > limit:
		return nil, "", tooLarge(limit)
	case err != nil:
		return nil, "", fmt.Errorf("read upload %s: %w", mediaID, err)
	}
	return data, o.ContentType, nil
}
