package mockserver

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// An Option configures a Server made by New or Open. An option that
// receives an invalid value, or a zero Option, makes New or Open return an
// error.
type Option struct {
	apply func(*config) error
}

// option wraps a function that sets part of the configuration.
func option(apply func(*config) error) Option { return Option{apply: apply} }

// config is what the options set. Nothing changes it after construction;
// what a control can change at run time (the clock, the cleanup delay, the
// failure rate, the seed, the fault profile) lives in the clock, the state
// and the fault engine, which start from it.
type config struct {
	source       func() time.Time
	scale        float64
	seed         int64
	population   PopulationConfig
	cleanupDelay time.Duration
	failRate     float64
	logger       *slog.Logger
	admin        bool
	adminToken   string
	adminHosts   []string
	keyBits      int
	compactBytes int64
	files        fileOps          // the state file's operations (tests replace them)
	wall         func() time.Time // the status page's wall clock (tests fix it)
	faults       FaultProfile     // normalized by WithFaults

	// The node managers (nm*.go).
	nodeManagers bool
	nmDisk       int64
	nmWall       func() time.Time // their clock (tests fix it)
	nmLoopOnly   bool             // pretend only 127.0.0.1 can be bound (tests)
	nmStartWait  time.Duration    // how long a start that cannot report waits (tests shorten it)
}

// DefaultPopulation returns the population a Server starts with when no
// WithPopulation option is given: 200 nodes, a tenth of them behind NAT,
// seed 1 (the command's defaults too).
func DefaultPopulation() PopulationConfig {
	return PopulationConfig{Nodes: 200, NATFraction: 0.1, Seed: 1}
}

// defaultKeyBits is the size of the RSA keys generated for accounts.
const defaultKeyBits = 1024

// defaultSeed seeds the random source unless WithSeed is given.
const defaultSeed = 1

func defaultConfig() config {
	return config{
		source:       time.Now,
		scale:        1,
		seed:         defaultSeed,
		population:   DefaultPopulation(),
		keyBits:      defaultKeyBits,
		compactBytes: 8 << 20,
		files:        defaultFileOps(),
		wall:         time.Now,
		nmDisk:       DefaultNodeManagerDisk,
		nmWall:       time.Now,
		nmStartWait:  NodeManagerStartWait,
	}
}

func buildConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o.apply == nil {
			return config{}, errors.New("mockserver: zero Option")
		}
		if err := o.apply(&cfg); err != nil {
			return config{}, err
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// WithClock sets the time source the mock clock follows (time.Now by
// default). A function that always returns the same instant gives a frozen
// clock that moves only through SetTime and Advance.
func WithClock(now func() time.Time) Option {
	return option(func(c *config) error {
		if now == nil {
			return errors.New("mockserver: WithClock: nil function")
		}
		c.source = now
		return nil
	})
}

// MaxTimeScale bounds WithTimeScale. At 1000 times real time a 4-hour
// lease runs out in 14.4 seconds and a 7-day renewal in 10 minutes, fast
// enough to watch both; faster would expire leases within a client's round
// trip. From 2026 the clock would need 86 days at this speed to reach the
// end of int64 nanoseconds (the year 2262), where it stops.
const MaxTimeScale = 1000

// MaxCleanupDelay bounds WithCleanupDelay and SetCleanupDelay: 30 days,
// longer than any lease or renewal, so in any test the same as "never".
const MaxCleanupDelay = 30 * 24 * time.Hour

// WithTimeScale makes the mock clock run x times as fast as its source
// (1 by default), from 0 (a frozen clock) to MaxTimeScale.
func WithTimeScale(x float64) Option {
	return option(func(c *config) error {
		if !(x >= 0 && x <= MaxTimeScale) {
			return fmt.Errorf("mockserver: time scale %v: must be between 0 and %d", x, MaxTimeScale)
		}
		c.scale = x
		return nil
	})
}

// WithSeed seeds the random source behind selection order, user port
// assignment and the acquire failure rate (1 by default). The
// population has its own seed, in PopulationConfig. Secrets (API keys,
// passwords' replacements, key pairs, encryption padding) never come from
// this source.
func WithSeed(seed int64) Option {
	return option(func(c *config) error {
		c.seed = seed
		return nil
	})
}

// WithPopulation replaces DefaultPopulation. PopulationConfig{} starts with
// no nodes at all.
func WithPopulation(p PopulationConfig) Option {
	return option(func(c *config) error {
		if err := p.validate(); err != nil {
			return err
		}
		c.population = p
		return nil
	})
}

// WithCleanupDelay sets how long a released or expired vessel stays dirty
// before it can be acquired again (0 by default: at once), at most
// MaxCleanupDelay.
func WithCleanupDelay(d time.Duration) Option {
	return option(func(c *config) error {
		if err := checkCleanupDelay(d); err != nil {
			return err
		}
		c.cleanupDelay = d
		return nil
	})
}

// WithAcquireFailureRate makes every node acquisition attempt fail with
// probability p, drawn from the seeded random source (0 by default).
func WithAcquireFailureRate(p float64) Option {
	return option(func(c *config) error {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("mockserver: acquire failure rate %v: must be between 0 and 1", p)
		}
		c.failRate = p
		return nil
	})
}

// WithLogger sets the logger for the server's own events (a discarding
// logger by default). It never receives a password, API key or private key.
func WithLogger(l *slog.Logger) Option {
	return option(func(c *config) error {
		c.logger = l
		return nil
	})
}

// WithAdmin enables the JSON controls under /admin/ on the server's HTTP
// handler (see the package documentation, The /admin/ controls). They are
// off by default.
func WithAdmin(enabled bool) Option {
	return option(func(c *config) error {
		c.admin = enabled
		return nil
	})
}

// WithAdminToken makes the JSON controls under /admin/ require the header
// "Authorization: Bearer <token>" (compared in constant time), for
// machines and networks shared with others. The token must be visible
// ASCII without spaces; it never appears in logs or errors. An empty token
// means none (the default).
func WithAdminToken(token string) Option {
	return option(func(c *config) error {
		if token != "" {
			if err := checkAdminToken(token); err != nil {
				return err
			}
		}
		c.adminToken = token
		return nil
	})
}

// WithAdminHosts adds host names under which the JSON controls under
// /admin/ may be addressed. By default they answer only requests whose
// Host is an IP address or localhost, a defence against DNS rebinding;
// name here the hosts you reach the mock by otherwise, such as a
// container's name.
func WithAdminHosts(names ...string) Option {
	return option(func(c *config) error {
		for _, n := range names {
			if h := normalHost(n); h == "" || strings.ContainsAny(h, "/ \\@?#") {
				return fmt.Errorf("mockserver: admin host %q is not a host name", n)
			}
		}
		c.adminHosts = append(c.adminHosts, names...)
		return nil
	})
}

// WithKeyBits sets the size of the RSA key pairs generated for accounts
// that are added without one (1024 by default), from
// seattlersa.MinKeyBits to seattlersa.MaxModulusBits. Tests may use 512 to
// save time; get_encrypted_api_key needs at least 433.
func WithKeyBits(bits int) Option {
	return option(func(c *config) error {
		if bits < seattlersa.MinKeyBits || bits > seattlersa.MaxModulusBits {
			return fmt.Errorf("mockserver: key size %d bits: must be between %d and %d",
				bits, seattlersa.MinKeyBits, seattlersa.MaxModulusBits)
		}
		c.keyBits = bits
		return nil
	})
}

func checkCleanupDelay(d time.Duration) error {
	if d < 0 || d > MaxCleanupDelay {
		return fmt.Errorf("mockserver: cleanup delay %v: must be between 0 and %v", d, MaxCleanupDelay)
	}
	return nil
}
