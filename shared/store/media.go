package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/webhook"
)

// S3 is the part of *s3.Client the media bucket uses.
type S3 interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Presigner is the part of *s3.PresignClient the media bucket uses.
type Presigner interface {
	PresignGetObject(context.Context, *s3.GetObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignPutObject(context.Context, *s3.PutObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// MediaBucket is template.yaml's MediaBucket: the files of messages under
// <instanceId>/<mediaId> (media.Key).
type MediaBucket struct {
	s3      S3
	presign Presigner
	name    string
}

// NewMediaBucket returns the media bucket named name.
func NewMediaBucket(c *s3.Client, name string) *MediaBucket {
	return &MediaBucket{s3: c, presign: s3.NewPresignClient(c), name: name}
}

// Metadata keys (x-amz-meta-…).
const (
	metaSHA256   = "sha256"
	metaFileName = "filename"
)

// Put stores a file.
func (b *MediaBucket) Put(ctx context.Context, key string, data []byte, o media.Object) error {
	meta := map[string]string{}
	if o.SHA256 != "" {
		meta[metaSHA256] = o.SHA256
	}
	if o.FileName != "" {
		meta[metaFileName] = url.PathEscape(o.FileName)
	}
	_, err := b.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.name, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		ContentType: aws.String(o.ContentType), Metadata: meta,
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Head describes a stored file; a coded not_found when there is none.
func (b *MediaBucket) Head(ctx context.Context, key string) (media.Object, error) {
	out, err := b.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return media.Object{}, mediaNotFound(key, err)
	}
	name, err := url.PathUnescape(out.Metadata[metaFileName])
	if err != nil {
		name = ""
	}
	return media.Object{
		Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		SHA256: out.Metadata[metaSHA256], FileName: name,
	}, nil
}

// Get reads a stored file of at most limit bytes.
func (b *MediaBucket) Get(ctx context.Context, key string, limit int64) ([]byte, media.Object, error) {
	out, err := b.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, media.Object{}, mediaNotFound(key, err)
	}
	defer out.Body.Close()
	o := media.Object{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType)}
	if o.Size > limit {
		return nil, o, fmt.Errorf("%s: %d bytes, more than %d", key, o.Size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, o, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, o, fmt.Errorf("%s: more than %d bytes", key, limit)
	}
	return data, o, nil
}

func mediaNotFound(key string, err error) error {
	var nk *s3types.NoSuchKey
	var nf *s3types.NotFound
	var api smithy.APIError
	if errors.As(err, &nk) || errors.As(err, &nf) || (errors.As(err, &api) && api.ErrorCode() == "NotFound") {
		return webhook.Errorf(webhook.ENotFound, "no such media")
	}
	return fmt.Errorf("read %s: %w", key, err)
}

// PresignGet returns a URL that GETs a stored file for ttl.
func (b *MediaBucket) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign GET %s: %w", key, err)
	}
	return req.URL, nil
}

// PresignPut returns a URL that PUTs a file of exactly size bytes and of contentType for ttl:
// both are signed headers, so S3 refuses a body of another length or another type.
// A file name, when given, is stored with the file (URL-escaped, as S3's metadata is ASCII)
// and also a signed header.
func (b *MediaBucket) PresignPut(ctx context.Context, key string, size int64, contentType, fileName string, ttl time.Duration) (string, http.Header, error) {
	in := &s3.PutObjectInput{Bucket: &b.name, Key: &key, ContentLength: aws.Int64(size), ContentType: aws.String(contentType)}
	if fileName != "" {
		in.Metadata = map[string]string{metaFileName: url.PathEscape(fileName)}
	}
	req, err := b.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", nil, fmt.Errorf("presign PUT %s: %w", key, err)
	}
	h := http.Header{}
	for k, v := range req.SignedHeader {
		if k != "Host" {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	return req.URL, h, nil
}
