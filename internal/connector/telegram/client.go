package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connector"
)

// DefaultBase is the Bot API's address.
const DefaultBase = "https://api.telegram.org"

// maxAnswer bounds a Bot API answer (getUpdates of 100 updates fits).
const maxAnswer = 8 << 20

// Client is a thin client of the Telegram Bot API: the seven methods the
// connector needs, over the SSRF-guarded client. (A library such as
// go-telegram/bot would bring its own polling loop and handlers, which
// the connector's lease and outbox replace, and would hide whether a
// failed request left the machine — which the at-most-once send needs.)
type Client struct {
	Base  string // DefaultBase when ""
	Token string
	HTTP  *http.Client
}

// APIError is the Bot API's refusal: {"ok":false,"error_code":…,
// "description":…,"parameters":{"retry_after":…}}.
type APIError struct {
	Method      string
	Code        int
	Description string
	// RetryAfter is the wait a 429 asks for.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("telegram: %s: %d %s", e.Method, e.Code, e.Description)
}

// User is a Telegram user or bot.
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

// Chat is a conversation.
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

// Contact is a phone number shared by the contact button.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	UserID      int64  `json:"user_id"`
}

// Document is a file sent as a document.
type Document struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
	FileSize int64  `json:"file_size"`
}

// PhotoSize is one size of a photo.
type PhotoSize struct {
	FileID   string `json:"file_id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	FileSize int64  `json:"file_size"`
}

// Message is a message of a chat.
type Message struct {
	MessageID int64       `json:"message_id"`
	From      *User       `json:"from"`
	Chat      Chat        `json:"chat"`
	Date      int64       `json:"date"`
	Text      string      `json:"text"`
	Caption   string      `json:"caption"`
	Contact   *Contact    `json:"contact"`
	Document  *Document   `json:"document"`
	Photo     []PhotoSize `json:"photo"`
}

// Update is one incoming update.
type Update struct {
	UpdateID      int64    `json:"update_id"`
	Message       *Message `json:"message"`
	EditedMessage *Message `json:"edited_message"`
}

// File is getFile's answer: FilePath is downloaded from FileURL.
type File struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size"`
	FilePath string `json:"file_path"`
}

func (c *Client) base() string {
	if c.Base == "" {
		return DefaultBase
	}
	return strings.TrimRight(c.Base, "/")
}

// call posts params as JSON to method and decodes the result into out.
func (c *Client) call(ctx context.Context, method string, params any, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("telegram: %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+"/bot"+c.Token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telegram: %s: %s", method, c.hide(err))
	}
	req.Header.Set("Content-Type", "application/json")
	res, b, err := connector.Call(c.HTTP, req, maxAnswer, "telegram: "+method, c.hide)
	if err != nil {
		return err
	}
	return decodeAnswer(method, res.StatusCode, b, out)
}

// decodeAnswer reads the Bot API's envelope: the result into out, or the
// refusal as an *APIError.
func decodeAnswer(method string, status int, b []byte, out any) error {
	var ans struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return fmt.Errorf("telegram: %s: HTTP %d, not the Bot API's answer", method, status)
	}
	if !ans.OK {
		code := ans.ErrorCode
		if code <= 0 {
			code = status
		}
		retry := time.Duration(max(ans.Parameters.RetryAfter, 0)) * time.Second
		return &APIError{Method: method, Code: code, Description: ans.Description, RetryAfter: retry}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans.Result, out); err != nil {
		return fmt.Errorf("telegram: %s: the result does not decode: %w", method, err)
	}
	return nil
}

func (c *Client) hide(err error) string {
	if c.Token == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), c.Token, "***")
}

// GetMe returns the bot: the connection's check.
func (c *Client) GetMe(ctx context.Context) (User, error) {
	var u User
	return u, c.call(ctx, "getMe", struct{}{}, &u)
}

// GetUpdates long-polls for updates from offset, waiting up to wait.
func (c *Client) GetUpdates(ctx context.Context, offset int64, wait time.Duration) ([]Update, error) {
	var us []Update
	err := c.call(ctx, "getUpdates", map[string]any{"offset": offset, "timeout": int(wait / time.Second), "limit": 100,
		"allowed_updates": []string{"message"}}, &us)
	return us, err
}

// SendMessage sends text to a chat and returns the sent message.
func (c *Client) SendMessage(ctx context.Context, chatID, text string) (Message, error) {
	var m Message
	return m, c.call(ctx, "sendMessage", map[string]any{"chat_id": chatID, "text": text}, &m)
}

// SendDocument sends the file at a public URL as a document (Telegram
// fetches it itself).
func (c *Client) SendDocument(ctx context.Context, chatID, fileURL, caption string) (Message, error) {
	var m Message
	p := map[string]any{"chat_id": chatID, "document": fileURL}
	if caption != "" {
		p["caption"] = caption
	}
	return m, c.call(ctx, "sendDocument", p, &m)
}

// GetFile prepares a file for download.
func (c *Client) GetFile(ctx context.Context, fileID string) (File, error) {
	var f File
	return f, c.call(ctx, "getFile", map[string]any{"file_id": fileID}, &f)
}

// Download opens a file GetFile prepared; the caller closes it.
func (c *Client) Download(ctx context.Context, f File) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+"/file/bot"+c.Token+"/"+f.FilePath, nil)
	if err != nil {
		return nil, fmt.Errorf("telegram: file: %s", c.hide(err))
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("telegram: file: %s", c.hide(err))
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, &APIError{Method: "file", Code: res.StatusCode, Description: "HTTP " + strconv.Itoa(res.StatusCode)}
	}
	return res.Body, nil
}

// SetWebhook points the bot's updates at url, signed by secret.
func (c *Client) SetWebhook(ctx context.Context, url, secret string) error {
	return c.call(ctx, "setWebhook", map[string]any{"url": url, "secret_token": secret, "allowed_updates": []string{"message"}}, nil)
}

// DeleteWebhook switches the bot back to getUpdates.
func (c *Client) DeleteWebhook(ctx context.Context) error {
	return c.call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil)
}

// SendDocumentData uploads a file as a document (multipart/form-data):
// a file Obmen keeps, which Telegram cannot fetch by a URL.
func (c *Client) SendDocumentData(ctx context.Context, chatID, name string, data []byte) (Message, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("chat_id", chatID)
	fw, err := mw.CreateFormFile("document", name)
	if err != nil {
		return Message{}, fmt.Errorf("telegram: sendDocument: %w", err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		return Message{}, fmt.Errorf("telegram: sendDocument: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+"/bot"+c.Token+"/sendDocument", &body)
	if err != nil {
		return Message{}, fmt.Errorf("telegram: sendDocument: %s", c.hide(err))
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, b, err := connector.Call(c.HTTP, req, maxAnswer, "telegram: sendDocument", c.hide)
	if err != nil {
		return Message{}, err
	}
	var m Message
	return m, decodeAnswer("sendDocument", res.StatusCode, b, &m)
}
