// Package engineapi is a minimal client of the Docker Engine API on the
// engine's unix socket: one JSON request per connection, HTTP/1.1, answers
// with Content-Length, chunked or read to the connection's end. The ready
// stage and the health check ping with it, the swarm stage forms and joins
// swarms with it.
//
// Written by hand: net/http (and crypto/tls with it) would be most of dinv's
// binary and resident memory (make bench), for a handful of requests to a
// local socket.
package engineapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// maxBody bounds an answer's body: the engine's JSON answers dinv reads (GET
// /info, GET /swarm) are a few KiB.
const maxBody = 4 << 20

// Client talks to the engine on Socket.
type Client struct {
	Socket string
}

// Error is the engine's answer to a request it refused: the status code and
// the "message" of its JSON body (or the body's start when there is none).
type Error struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// Do sends method path with in encoded as its JSON body (none when in is
// nil) and decodes a 2xx answer's JSON body into out (skipped when out is nil
// or the body is empty). An answer of 300 or more is an *Error. ctx bounds the
// whole exchange. The request's body is never part of an error: it may hold a
// secret.
func (c *Client) Do(ctx context.Context, method, path string, in, out interface{}) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return errors.Wrapf(err, "%s %s: encode the request", method, path)
		}
		body = b
	}
	status, answer, err := c.roundTrip(ctx, method, path, body)
	if err != nil {
		return errors.Wrapf(err, "%s %s", method, path)
	}
	if status >= 300 {
		return &Error{Method: method, Path: path, Status: status, Message: message(answer)}
	}
	if out == nil || len(bytes.TrimSpace(answer)) == 0 {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return errors.Wrapf(err, "%s %s: decode the answer", method, path)
	}
	return nil
}

// Ping asks GET /_ping and returns nil when the engine answers 200; the
// error names the socket.
func (c *Client) Ping(ctx context.Context) error {
	return errors.Wrapf(c.Do(ctx, "GET", "/_ping", nil, nil), "ping %s", c.Socket)
}

// roundTrip writes one request on a connection of its own and reads the
// status code and body of the answer.
func (c *Client) roundTrip(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: dinv\r\nConnection: close\r\n", method, path)
	if body != nil {
		fmt.Fprintf(&req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	} else if method != "GET" && method != "HEAD" {
		req.WriteString("Content-Length: 0\r\n")
	}
	req.WriteString("\r\n")
	req.Write(body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return 0, nil, wrapCtx(ctx, err, "send the request")
	}
	status, answer, err := ReadResponse(bufio.NewReader(conn), method == "HEAD")
	if err != nil {
		return 0, nil, wrapCtx(ctx, err, "read the answer")
	}
	return status, answer, nil
}

// wrapCtx says that ctx ended the exchange when it did, rather than the
// connection's deadline error.
func wrapCtx(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return errors.Wrap(context.Cause(ctx), what)
	}
	return errors.Wrap(err, what)
}

// ReadResponse reads one HTTP/1.1 answer from r: its status code and its
// body, framed by Content-Length, chunked transfer coding, or the end of
// the connection. Informational (1xx) answers before it are skipped. noBody
// is for answers that have none whatever their headers say (to HEAD).
func ReadResponse(r *bufio.Reader, noBody bool) (int, []byte, error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return 0, nil, err
		}
		// "HTTP/1.1 200 OK"
		proto, rest, _ := strings.Cut(line, " ")
		code, _, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
			return 0, nil, errors.Errorf("not an HTTP/1.x status line: %q", clip(line))
		}
		length, chunked, err := readHeaders(r)
		if err != nil {
			return 0, nil, err
		}
		if status < 200 {
			continue
		}
		if noBody || status == 204 || status == 304 {
			return status, nil, nil
		}
		body, err := readBody(r, length, chunked)
		return status, body, err
	}
}

// readHeaders reads header lines up to the blank one and returns the body's
// framing: its Content-Length (-1 when none) and whether it is chunked.
func readHeaders(r *bufio.Reader) (length int64, chunked bool, err error) {
	length = -1
	for n := 0; ; n++ {
		line, err := readLine(r)
		if err != nil {
			return 0, false, err
		}
		if line == "" {
			return length, chunked, nil
		}
		if n > 200 {
			return 0, false, errors.New("too many header lines")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return 0, false, errors.Errorf("malformed header line %q", clip(line))
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			l, err := strconv.ParseInt(value, 10, 64)
			if err != nil || l < 0 {
				return 0, false, errors.Errorf("bad Content-Length %q", clip(value))
			}
			length = l
		case "transfer-encoding":
			chunked = strings.EqualFold(value, "chunked") || strings.HasSuffix(strings.ToLower(value), ", chunked")
		}
	}
}

// readBody reads a body framed as the headers said; chunked wins over a
// Content-Length (RFC 9112, 6.3).
func readBody(r *bufio.Reader, length int64, chunked bool) ([]byte, error) {
	switch {
	case chunked:
		return readChunked(r)
	case length > maxBody:
		return nil, errors.Errorf("answer of %d bytes: more than the %d dinv reads", length, maxBody)
	case length >= 0:
		b := make([]byte, length)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, errors.Wrap(err, "read the body")
		}
		return b, nil
	default:
		b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
		if err != nil {
			return nil, errors.Wrap(err, "read the body")
		}
		if len(b) > maxBody {
			return nil, errors.Errorf("answer of more than the %d bytes dinv reads", maxBody)
		}
		return b, nil
	}
}

// readChunked reads a chunked body and the trailer after it.
func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, errors.Wrap(err, "read a chunk's size")
		}
		sizeText, _, _ := strings.Cut(line, ";") // chunk extensions are ignored
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, errors.Errorf("bad chunk size %q", clip(line))
		}
		if size == 0 {
			break
		}
		if int64(len(body))+size > maxBody {
			return nil, errors.Errorf("answer of more than the %d bytes dinv reads", maxBody)
		}
		start := len(body)
		body = append(body, make([]byte, size)...)
		if _, err := io.ReadFull(r, body[start:]); err != nil {
			return nil, errors.Wrap(err, "read a chunk")
		}
		if crlf, err := readLine(r); err != nil || crlf != "" {
			return nil, errors.New("a chunk does not end with CRLF")
		}
	}
	for { // the trailer, up to its blank line
		line, err := readLine(r)
		if err != nil {
			return nil, errors.Wrap(err, "read the trailer")
		}
		if line == "" {
			return body, nil
		}
	}
}

// readLine reads one line without its CRLF (or bare LF), of at most 64 KiB.
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		part, more, err := r.ReadLine()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		line = append(line, part...)
		if len(line) > 64<<10 {
			return "", errors.New("line longer than 64 KiB")
		}
		if !more {
			return string(line), nil
		}
	}
}

// message is the "message" of the engine's JSON error body, else the body's
// first line, on one line either way.
func message(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	text := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		text = e.Message
	}
	if text == "" {
		return "(no message)"
	}
	return clip(strings.Join(strings.Fields(text), " "))
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
