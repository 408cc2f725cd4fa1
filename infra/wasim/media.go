package wasim

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// mediaKind is what a media type is sent as: its default file and how WhatsApp names it.
type mediaKind struct {
	mimetype, fileName string
	appInfo            whatsmeow.MediaType
	infoType           string // MessageInfo.MediaType
	sample             func() []byte
}

var mediaKinds = map[string]mediaKind{
	TypeImage:    {"image/jpeg", "", whatsmeow.MediaImage, "image", sampleJPEG},
	TypeVideo:    {"video/mp4", "", whatsmeow.MediaVideo, "video", sampleMP4},
	TypeAudio:    {"audio/mpeg", "", whatsmeow.MediaAudio, "audio", sampleMP3},
	TypeVoice:    {"audio/ogg; codecs=opus", "", whatsmeow.MediaAudio, "ptt", sampleOgg},
	TypeDocument: {"application/pdf", "invoice.pdf", whatsmeow.MediaDocument, "document", samplePDF},
	TypeSticker:  {"image/webp", "", whatsmeow.MediaImage, "sticker", sampleWebP},
}

// maxMedia is the largest file a simulated person sends: WhatsApp's document limit is 2 GB,
// but the dev routes carry files inline.
const maxMedia = 16 << 20

// mediaMessage uploads a media message's file to the network and builds the message.
func (n *Network) mediaMessage(c *Content, info *types.MessageInfo) (*waE2E.Message, error) {
	kind := mediaKinds[c.Type]
	if len(c.Media) > maxMedia {
		return nil, invalid("media: at most %d bytes", maxMedia)
	}
	if len(c.Media) == 0 {
		c.Media = kind.sample()
	}
	if c.Mimetype == "" {
		c.Mimetype = kind.mimetype
	}
	if c.FileName == "" {
		c.FileName = kind.fileName
	}
	up, err := n.upload(c.Media, kind.appInfo)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", c.Type, err)
	}
	if c.Corrupt || c.MediaDelay > 0 {
		n.mu.Lock()
		f := n.files[up.DirectPath]
		if c.Corrupt {
			f.enc = append([]byte(nil), f.enc...)
			f.enc[len(f.enc)/2] ^= 0xFF
		}
		f.delay = c.MediaDelay
		n.mu.Unlock()
	}
	info.Type, info.MediaType = "media", kind.infoType
	length := proto.Uint64(up.FileLength)
	switch c.Type {
	case TypeImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256,
			FileLength: length, Mimetype: &c.Mimetype, Caption: optional(c.Body), Width: proto.Uint32(64), Height: proto.Uint32(64),
		}}, nil
	case TypeVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256,
			FileLength: length, Mimetype: &c.Mimetype, Caption: optional(c.Body), Seconds: proto.Uint32(3),
		}}, nil
	case TypeAudio, TypeVoice:
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256,
			FileLength: length, Mimetype: &c.Mimetype, Seconds: proto.Uint32(4), PTT: proto.Bool(c.Type == TypeVoice),
		}}, nil
	case TypeDocument:
		doc := &waE2E.DocumentMessage{
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256,
			FileLength: length, Mimetype: &c.Mimetype, FileName: &c.FileName, Title: &c.FileName, Caption: optional(c.Body),
		}
		if c.Body != "" {
			// WhatsApp wraps a document with a caption.
			return &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{DocumentMessage: doc}}}, nil
		}
		return &waE2E.Message{DocumentMessage: doc}, nil
	}
	return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
		URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256,
		FileLength: length, Mimetype: &c.Mimetype, Width: proto.Uint32(512), Height: proto.Uint32(512),
	}}, nil
}

// sampleJPEG is a 64×64 gradient, a real JPEG.
func sampleJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		panic("wasim: encode sample JPEG: " + err.Error())
	}
	return b.Bytes()
}

// The other samples are files of their type in name and header only: nothing here plays them.

func sampleMP4() []byte {
	return append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), bytes.Repeat([]byte{0}, 1024)...)
}

func sampleMP3() []byte {
	return append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x64}, 256)...)
}

func sampleOgg() []byte {
	return append([]byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00OpusHead"), bytes.Repeat([]byte{1}, 512)...)
}

func samplePDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")
}

func sampleWebP() []byte {
	return append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{2}, 256)...)
}

// Download downloads and decrypts a message's file with whatsmeow's own Download, from the
// network's media servers: the URL in the message leads to them (see mediaServer), and
// whatsmeow checks the hashes and the MAC as against WhatsApp's.
func (c *Client) Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error) {
	if _, err := c.connected(); err != nil {
		return nil, err
	}
	return c.builder.Download(ctx, msg)
}

// mediaServer answers GETs of uploaded files by their path, as mmg.whatsapp.net does: 404
// for a path it does not have.
type mediaServer struct{ n *Network }

func (m mediaServer) RoundTrip(req *http.Request) (*http.Response, error) {
	m.n.mu.Lock()
	f, ok := m.n.files[req.URL.RequestURI()]
	m.n.mu.Unlock()
	answer := func(code int, body []byte) *http.Response {
		return &http.Response{
			StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
		}
	}
	if req.Method != http.MethodGet || req.URL.Host != mediaHost || !ok {
		return answer(http.StatusNotFound, nil), nil
	}
	if f.delay > 0 {
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(f.delay):
		}
	}
	return answer(http.StatusOK, f.enc), nil
}

// mediaHost is the host of the URLs of uploaded files.
const mediaHost = "mmg.whatsapp.net"
