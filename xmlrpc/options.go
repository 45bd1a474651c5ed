package xmlrpc

import (
	"errors"
	"time"
)

// An Option configures a Client or a Server: NewClient and NewServer take
// the same type. Some options configure both sides (WithLimits, WithI8,
// WithAllowNil, WithLocation, WithGzip); the others are for one side, and
// giving one to the other side's constructor is an error that names it.
// Options check their arguments, so a constructor fails instead of
// building something that does not do what was asked. Make options with
// the With functions; the zero Option is an error.
type Option struct {
	name   string              // the function that made it, for errors
	client func(*Client) error // nil: not a client option
	server func(*Server) error // nil: not a server option
}

func clientOption(name string, f func(*Client) error) Option {
	return Option{name: name, client: f}
}

func serverOption(name string, f func(*Server) error) Option {
	return Option{name: name, server: f}
}

// applyClient applies opt to c, or says why it cannot.
func (opt Option) applyClient(c *Client) error {
	switch {
	case opt.name == "":
		return errors.New("xmlrpc: NewClient: zero Option")
	case opt.client == nil:
		return errors.New("xmlrpc: " + opt.name + " is a server option")
	}
	return opt.client(c)
}

// applyServer applies opt to s, or says why it cannot.
func (opt Option) applyServer(s *Server) error {
	switch {
	case opt.name == "":
		return errors.New("xmlrpc: NewServer: zero Option")
	case opt.server == nil:
		return errors.New("xmlrpc: " + opt.name + " is a client option")
	}
	return opt.server(s)
}

// WithLimits bounds what the side accepts: a client in a response, a
// server in a request; both also encode no deeper than MaxDepth, and a
// client sends no methodName over MaxMethodBytes. Zero fields take their
// defaults, and a negative field is an error.
func WithLimits(l Limits) Option {
	check := func() (Limits, error) {
		if err := l.check("WithLimits"); err != nil {
			return Limits{}, err
		}
		return l.withDefaults(), nil
	}
	return Option{
		name: "WithLimits",
		client: func(c *Client) error {
			l, err := check()
			if err != nil {
				return err
			}
			c.limits = l
			c.encOpts.maxDepth, c.encOpts.maxMethodBytes = l.MaxDepth, l.MaxMethodBytes
			return nil
		},
		server: func(s *Server) error {
			l, err := check()
			if err != nil {
				return err
			}
			s.limits = l
			s.encOpts.maxDepth = l.MaxDepth
			return nil
		},
	}
}

// WithI8 lets the side send integers outside 32 bits as <i8>: a client in
// its parameters, a server in handler results.
func WithI8() Option {
	return Option{
		name:   "WithI8",
		client: func(c *Client) error { c.encOpts.i8 = true; return nil },
		server: func(s *Server) error { s.encOpts.i8 = true; return nil },
	}
}

// WithAllowNil lets the side send nil values as <nil/>: a client in its
// parameters, a server in handler results.
func WithAllowNil() Option {
	return Option{
		name:   "WithAllowNil",
		client: func(c *Client) error { c.encOpts.allowNil = true; return nil },
		server: func(s *Server) error { s.encOpts.allowNil = true; return nil },
	}
}

// WithLocation sets the location for times in both directions (default
// UTC): times sent are converted to it, and times received without a zone
// are read in it. loc must not be nil.
func WithLocation(loc *time.Location) Option {
	set := func(dst **time.Location, enc *encodeOptions) error {
		if loc == nil {
			return errors.New("xmlrpc: WithLocation: nil location")
		}
		*dst, enc.loc = loc, loc
		return nil
	}
	return Option{
		name:   "WithLocation",
		client: func(c *Client) error { return set(&c.loc, &c.encOpts) },
		server: func(s *Server) error { return set(&s.loc, &s.encOpts) },
	}
}

// WithGzip compresses the bodies the side sends. A client compresses
// every request (Content-Encoding: gzip): use it only with servers known
// to accept compressed requests, as this package's Server does. A server
// compresses responses larger than a packet for clients that send
// Accept-Encoding: gzip, as this package's Client does. Both sides accept
// compressed bodies without the option.
func WithGzip() Option {
	return Option{
		name:   "WithGzip",
		client: func(c *Client) error { c.gzipReq = true; return nil },
		server: func(s *Server) error { s.gzipResponses = true; return nil },
	}
}
