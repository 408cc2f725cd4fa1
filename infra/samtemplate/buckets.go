package samtemplate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is the part of *s3.Client that provisioning uses.
type S3 interface {
	CreateBucket(context.Context, *s3.CreateBucketInput, ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	PutBucketEncryption(context.Context, *s3.PutBucketEncryptionInput, ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	PutPublicAccessBlock(context.Context, *s3.PutPublicAccessBlockInput, ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	PutBucketLifecycleConfiguration(context.Context, *s3.PutBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	DeleteBucket(context.Context, *s3.DeleteBucketInput, ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
}

// Bucket is a provisioned bucket with the lifecycle it really has.
type Bucket struct {
	LogicalID string
	Name      string
	// ExpirationDays is the lifecycle's expiry of every object, 0 without one.
	ExpirationDays int
}

// bucketSpec is what provisioning reads of an AWS::S3::Bucket: the properties that change
// what code sees (encryption, public access, expiry). The bucket policy (TLS only) is left
// out: the emulator serves plain http, and moto does not evaluate policies.
type bucketSpec struct {
	Properties struct {
		BucketEncryption *struct {
			ServerSideEncryptionConfiguration []struct {
				ServerSideEncryptionByDefault struct{ SSEAlgorithm string }
			}
		}
		PublicAccessBlockConfiguration *struct {
			BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets bool
		}
		LifecycleConfiguration *struct {
			Rules []struct {
				ID               string `json:"Id"`
				Status           string
				ExpirationInDays any // a number, or a Number parameter's default as a string
			}
		}
	}
}

// buckets returns the template's buckets by logical id.
func (t *Template) buckets() (map[string]bucketSpec, error) {
	var doc struct {
		Resources map[string]struct {
			Type string
		}
	}
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return nil, fmt.Errorf("read buckets: %w", err)
	}
	out := map[string]bucketSpec{}
	for id, r := range doc.Resources {
		if r.Type != "AWS::S3::Bucket" {
			continue
		}
		var spec bucketSpec
		if err := t.Resource(id, &spec); err != nil {
			return nil, err
		}
		out[id] = spec
	}
	return out, nil
}

// BucketName is the name a bucket of the template gets under prefix: <prefix>-<logicalid>,
// lower case as S3 wants, with a hash in place of the end when that is longer than S3's 63.
func BucketName(prefix, logicalID string) string {
	name := strings.ReplaceAll(strings.ToLower(prefix+"-"+logicalID), "_", "-")
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:50], "-") + "-" + hex.EncodeToString(sum[:6])
}

func (r *Resources) provisionBuckets(ctx context.Context, c S3, specs map[string]bucketSpec) error {
	for _, id := range slices.Sorted(maps.Keys(specs)) {
		b, err := provisionBucket(ctx, c, BucketName(r.Prefix, id), specs[id])
		if err != nil {
			return err
		}
		b.LogicalID = id
		r.buckets[id] = b
	}
	return nil
}

func provisionBucket(ctx context.Context, c S3, name string, spec bucketSpec) (Bucket, error) {
	b := Bucket{Name: name}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
	var owned *s3types.BucketAlreadyOwnedByYou
	switch {
	case errors.As(err, &owned):
		slog.DebugContext(ctx, "bucket exists, reusing it", "bucket", name)
	case err != nil:
		return b, fmt.Errorf("create bucket %s: %w", name, err)
	}
	p := spec.Properties
	if e := p.BucketEncryption; e != nil && len(e.ServerSideEncryptionConfiguration) > 0 {
		algo := e.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm
		if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
			Bucket: &name,
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(algo)},
			}}},
		}); err != nil {
			return b, fmt.Errorf("bucket %s encryption: %w", name, err)
		}
	}
	if a := p.PublicAccessBlockConfiguration; a != nil {
		if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
			Bucket: &name,
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: &a.BlockPublicAcls, BlockPublicPolicy: &a.BlockPublicPolicy,
				IgnorePublicAcls: &a.IgnorePublicAcls, RestrictPublicBuckets: &a.RestrictPublicBuckets,
			},
		}); err != nil {
			return b, fmt.Errorf("bucket %s public access block: %w", name, err)
		}
	}
	if l := p.LifecycleConfiguration; l != nil {
		var rules []s3types.LifecycleRule
		for _, rule := range l.Rules {
			lr := s3types.LifecycleRule{ID: aws.String(rule.ID), Status: s3types.ExpirationStatus(rule.Status), Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")}}
			if rule.ExpirationInDays != nil {
				days, err := wholeNumber(rule.ExpirationInDays)
				if err != nil {
					return b, fmt.Errorf("bucket %s lifecycle rule %s: ExpirationInDays: %w", name, rule.ID, err)
				}
				lr.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(int32(days))}
				if rule.Status == "Enabled" {
					b.ExpirationDays = days
				}
			}
			rules = append(rules, lr)
		}
		if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
			Bucket: &name, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules},
		}); err != nil {
			return b, fmt.Errorf("bucket %s lifecycle: %w", name, err)
		}
	}
	return b, nil
}

func wholeNumber(v any) (int, error) {
	switch v := v.(type) {
	case float64:
		if v == float64(int(v)) && v > 0 {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not a positive whole number", v)
}

// Bucket returns the bucket with the given logical id; an unknown id panics as in Table.
func (r *Resources) Bucket(logicalID string) Bucket {
	b, ok := r.buckets[logicalID]
	if !ok {
		panic(fmt.Sprintf("samtemplate: no bucket %q in the template", logicalID))
	}
	return b
}

// deleteBucket empties a bucket and deletes it; one already gone is fine.
func deleteBucket(ctx context.Context, c S3, name string) error {
	var noBucket *s3types.NoSuchBucket
	for {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &name})
		if errors.As(err, &noBucket) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list bucket %s: %w", name, err)
		}
		if len(out.Contents) == 0 {
			break
		}
		var ids []s3types.ObjectIdentifier
		for _, o := range out.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &name, Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("empty bucket %s: %w", name, err)
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name})
	if err != nil && !errors.As(err, &noBucket) {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	return nil
}

// ResourceIDs returns the logical ids of the template's resources of a type, sorted.
func (t *Template) ResourceIDs(resourceType string) ([]string, error) {
	var doc struct {
		Resources map[string]struct{ Type string }
	}
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return nil, fmt.Errorf("read resources: %w", err)
	}
	var ids []string
	for id, r := range doc.Resources {
		if r.Type == resourceType {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
