package media

// Object is what the media bucket knows of a stored file.
type Object struct {
	Size        int64
	ContentType string
	// SHA256 is the base64 SHA-256 of the file, as WhatsApp gives it ("" for uploads).
	SHA256   string
	FileName string
}
