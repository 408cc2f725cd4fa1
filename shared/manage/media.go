package manage

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// MediaFiles is what the media routes need of the bucket.
type MediaFiles interface {
	Head(ctx context.Context, key string) (media.Object, error)
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	PresignPut(ctx context.Context, key string, size int64, contentType, fileName string, ttl time.Duration) (string, http.Header, error)
}

// MediaAPI serves the media routes (DESIGN.md §8): uploads for sending, fresh links to
// stored files, and the links themselves.
type MediaAPI struct {
	files     MediaFiles
	links     *media.Links
	instances InstanceGetter
	now       func() time.Time
}

// MediaDeps are a MediaAPI's dependencies.
type MediaDeps struct {
	Files     MediaFiles
	Links     *media.Links
	Instances InstanceGetter
	Now       func() time.Time // time.Now when nil
}

// NewMediaAPI returns a MediaAPI.
func NewMediaAPI(d MediaDeps) *MediaAPI {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &MediaAPI{files: d.Files, links: d.Links, instances: d.Instances, now: now}
}

// UploadTTL is how long an upload URL takes a PUT; RedirectTTL how long the presigned GET a
// link redirects to works (it is signed when the link is followed).
const (
	UploadTTL   = 15 * time.Minute
	RedirectTTL = 5 * time.Minute
)

// Register adds the media routes. GET /media/{token} takes no API key: the token is the
// credential.
func (a *MediaAPI) Register(r *apigw.Router) {
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/media", a.upload)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/media/{mediaId}", a.get)
	r.Handle(http.MethodGet, media.LinkPath+"{token}", a.follow)
}

type uploadRequest struct {
	Mimetype *string        `json:"mimetype"`
	Size     *apigw.Integer `json:"size"`
	FileName *string        `json:"fileName"`
	// Type, when given, checks the upload against that message type's limits now.
	Type *string `json:"type"`
}

type uploadView struct {
	MediaID   string `json:"mediaId"`
	UploadURL string `json:"uploadUrl"`
	// Headers are the headers the PUT must send, exactly: they are signed.
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expiresAt"`
}

func (a *MediaAPI) upload(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var req uploadRequest
	if err := r.Decode(&req); err != nil {
		return apigw.Response{}, err
	}
	mimetype, size, fileName, err := req.validate()
	if err != nil {
		return apigw.Response{}, err
	}
	if _, err := a.instances.Get(ctx, id); err != nil {
		return apigw.Response{}, err
	}
	mediaID := media.NewUploadID()
	now := a.now()
	u, h, err := a.files.PresignPut(ctx, media.Key(id, mediaID), size, mimetype, fileName, UploadTTL)
	if err != nil {
		return apigw.Response{}, err
	}
	headers := map[string]string{}
	for k := range h {
		headers[k] = h.Get(k)
	}
	return apigw.Response{Status: http.StatusCreated, Data: uploadView{
		MediaID: mediaID, UploadURL: u, Headers: headers, ExpiresAt: webhook.FormatTime(now.Add(UploadTTL)),
	}}, nil
}

var mediaTypes = []string{string(outbox.TypeImage), string(outbox.TypeVideo), string(outbox.TypeAudio), string(outbox.TypeDocument), string(outbox.TypeSticker)}

func (req uploadRequest) validate() (mimetype string, size int64, fileName string, err error) {
	invalid := func(field, format string, args ...any) error {
		return webhook.Errorf(webhook.EInvalid, "%s: "+format, append([]any{field}, args...)...)
	}
	if req.Mimetype == nil {
		return "", 0, "", invalid("mimetype", "required")
	}
	base, params, perr := mime.ParseMediaType(*req.Mimetype)
	if perr != nil || !strings.Contains(base, "/") {
		return "", 0, "", invalid("mimetype", "not a media type (such as image/jpeg)")
	}
	mimetype = mime.FormatMediaType(base, params)
	if req.Size == nil {
		return "", 0, "", invalid("size", "required: the file's length in bytes")
	}
	size = int64(*req.Size)
	if size < 1 || size > outbox.MaxDocumentBytes {
		return "", 0, "", invalid("size", "must be from 1 to %d bytes (WhatsApp's largest, for documents)", outbox.MaxDocumentBytes)
	}
	if req.FileName != nil {
		name := *req.FileName
		if strings.TrimSpace(name) == "" || len(name) > outbox.MaxFileNameLength || strings.ContainsAny(name, "/\\") || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return "", 0, "", invalid("fileName", "must be 1-%d characters without slashes or control characters", outbox.MaxFileNameLength)
		}
		fileName = name
	}
	if req.Type != nil {
		t := outbox.Type(*req.Type)
		if !slices.Contains(mediaTypes, *req.Type) {
			return "", 0, "", invalid("type", "must be one of %s", strings.Join(mediaTypes, ", "))
		}
		if mimetype, err = outbox.ValidateMimetype("mimetype", t, mimetype); err != nil {
			return "", 0, "", err
		}
		if limit := outbox.MediaLimit(t); size > limit {
			return "", 0, "", invalid("size", "%d bytes is larger than WhatsApp's %s for %s", size, megabytes(limit), t)
		}
	}
	return mimetype, size, fileName, nil
}

// megabytes spells a limit as WhatsApp does: 16 MB, 500 KB.
func megabytes(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n>>20, 10) + " MB"
}

type mediaView struct {
	MediaID   string  `json:"mediaId"`
	URL       string  `json:"url"`
	ExpiresAt string  `json:"expiresAt"`
	Mimetype  string  `json:"mimetype"`
	Size      int64   `json:"size"`
	SHA256    *string `json:"sha256"`
	FileName  *string `json:"fileName"`
}

func (a *MediaAPI) get(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	mediaID := r.Param("mediaId")
	if !media.ValidID(mediaID) {
		return apigw.Response{}, webhook.Errorf(webhook.ENotFound, "no media %s", mediaID)
	}
	o, err := a.files.Head(ctx, media.Key(id, mediaID))
	if err != nil {
		return apigw.Response{}, err
	}
	link, exp := a.links.Link(id, mediaID, a.now())
	v := mediaView{MediaID: mediaID, URL: link, ExpiresAt: webhook.FormatTime(exp), Mimetype: o.ContentType, Size: o.Size}
	if o.SHA256 != "" {
		v.SHA256 = &o.SHA256
	}
	if o.FileName != "" {
		v.FileName = &o.FileName
	}
	return apigw.Response{Data: v}, nil
}

func (a *MediaAPI) follow(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	instanceID, mediaID, err := a.links.Check(r.Param("token"), a.now())
	switch {
	case errors.Is(err, media.ErrExpiredLink):
		return apigw.Response{}, webhook.Errorf(webhook.ENotFound, "the media link has expired; GET /api/instance/{instanceId}/media/{mediaId} with the API key answers a fresh one")
	case err != nil:
		return apigw.Response{}, webhook.Errorf(webhook.ENotFound, "no such media link")
	}
	key := media.Key(instanceID, mediaID)
	if _, err := a.files.Head(ctx, key); err != nil {
		return apigw.Response{}, err
	}
	u, err := a.files.PresignGet(ctx, key, RedirectTTL)
	if err != nil {
		return apigw.Response{}, fmt.Errorf("media link: %w", err)
	}
	return apigw.Response{Location: u}, nil
}
