package send

import "strings"

var vcardEscaper = strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// vcard writes the vCard 3.0 WhatsApp's apps write for a shared contact: each phone a cell
// number with waid=, the digits that make the recipient's app offer to message it.
func vcard(name string, phones []string) string {
	n := vcardEscaper.Replace(name)
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\nVERSION:3.0\n")
	b.WriteString("N:;" + n + ";;;\n")
	b.WriteString("FN:" + n + "\n")
	for _, p := range phones {
		b.WriteString("TEL;type=CELL;type=VOICE;waid=" + p + ":+" + p + "\n")
	}
	b.WriteString("END:VCARD")
	return b.String()
}
