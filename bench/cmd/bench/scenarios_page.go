package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// pageGet is scenario 3's call: the hosted page of an open session.
func pageGet(c *http.Client, pageURL string) call {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept-Language", "en")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", pageURL, resp.Status)
		}
		return nil
	}
}

// pageSize GETs the page once and returns its size in bytes.
func pageSize(ctx context.Context, c *http.Client, pageURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", pageURL, resp.Status)
	}
	return len(b), err
}

// bareServer is scenario 3's baseline: a plain net/http handler on loopback
// writing a page of the same size.
func bareServer(size int) (url string, stop func(), err error) {
	page := []byte("<!doctype html>" + strings.Repeat("x", max(size-15, 0)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/checkout/page", func() { _ = srv.Close() }, nil
}

// firstViewSessions is how many sessions the first-view row opens once each.
const firstViewSessions = 4000

// sessionURLs creates n sessions and returns their page URLs.
func sessionURLs(ctx context.Context, a apiClient, n int) ([]string, error) {
	body := createJSON()
	urls := make([]string, n)
	err := prepare(n, func(i int) error {
		s, err := a.createSession(ctx, body)
		urls[i] = s.URL
		return err
	})
	return urls, err
}

// firstViews GETs each page of urls once, in turn: no view is a repeat.
func firstViews(c *http.Client, urls []string) call {
	gets := make([]call, len(urls))
	for i, u := range urls {
		gets[i] = pageGet(c, u)
	}
	var next atomic.Int64
	return func(ctx context.Context) error {
		i := int(next.Add(1)-1) % len(gets)
		return gets[i](ctx)
	}
}
