package outbox

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/wagate/wagate/shared/webhook"
)

// decodeStrict decodes one JSON object into the struct v points to, more strictly than
// encoding/json and naming the field path (text.body, contacts[1].phones[0]) in every error:
// field names must match their json tag exactly (encoding/json would take "Text" for "text"),
// unknown fields, a field given twice (encoding/json keeps the last, so two readers could see
// two messages) and null (no field of a request has a meaning for it) are refused, and a whole
// number may be written 2, 2.0 or 2e0, as JSON Schema reads an integer. v's types may only be
// structs, pointers, slices, strings, bools, float64 and int.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return webhook.Errorf(webhook.EInvalid, "body: required")
	}
	if !json.Valid(body) {
		return webhook.Errorf(webhook.EInvalid, "body: malformed JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	d := strictDecoder{dec: dec}
	rv := reflect.ValueOf(v).Elem()
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return webhook.Errorf(webhook.EInvalid, "body: must be a JSON object")
	}
	return d.object(rv, "")
}

type strictDecoder struct{ dec *json.Decoder }

// value decodes the value that starts with tok into v.
func (d strictDecoder) value(tok json.Token, v reflect.Value, path string) error {
	if tok == nil {
		return webhook.Errorf(webhook.EInvalid, "%s: must not be null; give a value or leave the field out", path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if err := d.value(tok, elem.Elem(), path); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		if tok != json.Delim('{') {
			return mustBe(path, "an object")
		}
		return d.object(v, path)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return mustBe(path, "an array")
		}
		return d.array(v, path)
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return mustBe(path, "a string")
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return mustBe(path, "true or false")
		}
		v.SetBool(b)
	case reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return mustBe(path, "a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return mustBe(path, "a finite number")
		}
		v.SetFloat(f)
	case reflect.Int:
		n, ok := tok.(json.Number)
		if !ok {
			return mustBe(path, "a whole number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			return mustBe(path, "a whole number")
		}
		v.SetInt(int64(f))
	default:
		panic("outbox: decodeStrict cannot decode into " + v.Type().String())
	}
	return nil
}

// object decodes the members of an object whose '{' was read.
func (d strictDecoder) object(v reflect.Value, path string) error {
	seen := map[string]bool{}
	for d.dec.More() {
		keyTok, err := d.dec.Token()
		if err != nil {
			return malformed()
		}
		key, _ := keyTok.(string)
		field := join(path, key)
		if seen[key] {
			return webhook.Errorf(webhook.EInvalid, "%s: given more than once", field)
		}
		seen[key] = true
		f, ok := fieldNamed(v, key)
		if !ok {
			return webhook.Errorf(webhook.EInvalid, "%s: unknown field", field)
		}
		tok, err := d.dec.Token()
		if err != nil {
			return malformed()
		}
		if err := d.value(tok, f, field); err != nil {
			return err
		}
	}
	_, err := d.dec.Token() // '}'
	if err != nil {
		return malformed()
	}
	return nil
}

// array decodes the elements of an array whose '[' was read. An empty array is a non-nil
// empty slice, so that "given empty" and "left out" can be told apart.
func (d strictDecoder) array(v reflect.Value, path string) error {
	s := reflect.MakeSlice(v.Type(), 0, 0)
	for i := 0; d.dec.More(); i++ {
		tok, err := d.dec.Token()
		if err != nil {
			return malformed()
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.value(tok, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
		s = reflect.Append(s, elem)
	}
	if _, err := d.dec.Token(); err != nil { // ']'
		return malformed()
	}
	v.Set(s)
	return nil
}

// fieldNamed returns the field of struct v whose json name is exactly key.
func fieldNamed(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == key && name != "-" && t.Field(i).IsExported() {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func mustBe(path, what string) error {
	return webhook.Errorf(webhook.EInvalid, "%s: must be %s", path, what)
}

// malformed is reached only if json.Valid and the decoder disagree.
func malformed() error { return webhook.Errorf(webhook.EInvalid, "body: malformed JSON") }
