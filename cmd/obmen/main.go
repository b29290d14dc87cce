// Command obmen is the Obmen server and its administration tool.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/obmen/obmen/internal/api"
	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/bench"
	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

const usage = `Obmen — CRM integration hub.

Usage:
  obmen serve    [--data DIR] [--addr HOST:PORT] [--database-url URL]   run the server
  obmen migrate  [--data DIR] [--database-url URL]                      apply database migrations
  obmen user add LOGIN [--role admin|manager] [--password-stdin] [--first-name N] [--last-name N] [--email E]
  obmen user list
  obmen user set-password LOGIN [--password-stdin]
  obmen user disable LOGIN | obmen user enable LOGIN
  obmen user new-key [--name NAME] LOGIN                               print a new API key (only the key)
  obmen bitrix webhook-add --user LOGIN --scope crm,user [--name N]    print the URL of a new incoming webhook
  obmen address import [--region N]... [--batch N] PATH    load ФИАС/ГАР addresses (official zip or folder, full or delta; resumable)
  obmen backup FILE                                                     consistent copy of the live SQLite database
  obmen bench    [--url URL --key KEY | --data DIR] [options]            load test over real HTTP (see obmen bench -h)
  obmen version

Every command takes --data DIR (env OBMEN_DATA, default ./obmen-data) and
--database-url (env OBMEN_DATABASE_URL) to choose the database.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "obmen:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		fs := newFlags("serve", &cfg, stderr)
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (env OBMEN_ADDR)")
		fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "PEM certificate (chain) to serve HTTPS (env OBMEN_TLS_CERT)")
		fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "PEM private key for --tls-cert (env OBMEN_TLS_KEY)")
		if err := parse(fs, rest, 0); err != nil {
			return err
		}
		log := app.NewLogger(cfg, stderr)
		return app.Run(ctx, cfg, log, stdout, nil)
	case "migrate":
		fs := newFlags("migrate", &cfg, stderr)
		if err := parse(fs, rest, 0); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		d, err := app.OpenDB(ctx, cfg, app.NewLogger(cfg, stderr))
		if err != nil {
			return err
		}
		defer d.Close()
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	case "user":
		return userCmd(ctx, cfg, rest, stdin, stdout, stderr)
	case "backup":
		fs := newFlags("backup", &cfg, stderr)
		if err := parse(fs, rest, 1); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		d, err := app.OpenDB(ctx, cfg, app.NewLogger(cfg, stderr))
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Backup(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup written to %s\n", fs.Arg(0))
		return nil
	case "bitrix":
		return bitrixCmd(ctx, cfg, rest, stdout, stderr)
	case "address":
		return addressCmd(ctx, cfg, rest, stdout, stderr)
	case "bench":
		return bench.Main(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "obmen %s\n", app.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func newFlags(name string, cfg *config.Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("obmen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	return fs
}

// parse parses flags that may come before or after the positional
// arguments ("new-key --data DIR LOGIN" and "new-key LOGIN --data DIR"),
// and checks the number of positional arguments.
func parse(fs *flag.FlagSet, args []string, positional int) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		return usageError{fmt.Sprintf("%s: expected %d argument(s), got %d", fs.Name(), positional, len(pos))}
	}
	_ = fs.Parse(nil)
	// Re-expose the positional arguments through fs.Arg.
	_ = fs.Parse(append([]string{"--"}, pos...))
	return nil
}

func openStore(ctx context.Context, cfg config.Config, stderr io.Writer) (*store.Store, func(), error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	d, err := app.OpenDB(ctx, cfg, app.NewLogger(cfg, stderr))
	if err != nil {
		return nil, nil, err
	}
	return store.New(d), func() { d.Close() }, nil
}

func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageError{"no password on standard input"}
	}
	return pw, nil
}

func userCmd(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"user: expected add, list, set-password, disable, enable, permit or new-key"}
	}
	sub, rest := args[0], args[1:]
	fs := newFlags("user "+sub, &cfg, stderr)
	actor := crm.Actor{Integration: "cli"}
	switch sub {
	case "add":
		role := fs.String("role", crm.RoleManager, "admin or manager")
		first := fs.String("first-name", "", "first name")
		last := fs.String("last-name", "", "last name")
		email := fs.String("email", "", "e-mail")
		fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
		if err := parse(fs, rest, 1); err != nil {
			return err
		}
		pw := ""
		generated := false
		if *fromStdin {
			var err error
			if pw, err = readPassword(stdin); err != nil {
				return err
			}
		} else {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			pw, generated = base64.RawURLEncoding.EncodeToString(b), true
		}
		s, done, err := openStore(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer done()
		u, err := s.CreateUser(ctx, actor, crm.User{Login: fs.Arg(0), Role: *role, FirstName: *first, LastName: *last, Email: *email}, pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (id %d, %s)\n", u.Login, u.ID, u.Role)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
		return nil
	case "list":
		if err := parse(fs, rest, 0); err != nil {
			return err
		}
		s, done, err := openStore(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer done()
		us, err := s.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLOGIN\tNAME\tROLE\tACTIVE\tEMAIL")
		for _, u := range us {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%s\n", u.ID, u.Login, strings.TrimSpace(u.FirstName+" "+u.LastName), u.Role, u.Active, u.Email)
		}
		return tw.Flush()
	case "set-password":
		if err := parse(fs, rest, 1); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "reading the new password from standard input")
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		s, done, err := openStore(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer done()
		u, err := s.UserByLogin(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if err := s.SetPassword(ctx, actor, u.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed\n", u.Login)
		return nil
	case "disable", "enable":
		if err := parse(fs, rest, 1); err != nil {
			return err
		}
		s, done, err := openStore(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer done()
		u, err := s.UserByLogin(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		u.Active = sub == "enable"
		if _, err := s.UpdateUser(ctx, actor, u); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %sd\n", u.Login, sub)
		return nil
	case "permit":
		perms := fs.String("permissions", "", "integration permissions, comma-separated: 1c_exchange, 1c_catalog; \"\" takes them all back; left out: show them")
		if err := parse(fs, rest, 1); err != nil {
			return err
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "permissions" })
		s, done, err := openStore(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer done()
		u, err := s.UserByLogin(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if set {
			var list []string
			for _, p := range strings.Split(*perms, ",") {
				if p = strings.TrimSpace(p); p != "" {
					list = append(list, p)
				}
			}
			if err := s.SetUserPermissions(ctx, actor, u.ID, list); err != nil {
				return err
			}
		}
		got, err := s.UserPermissions(ctx, u.ID)
		if err != nil {
			return err
		}
		note := ""
		if u.Role == crm.RoleAdmin {
			note = " (an administrator holds every permission)"
		}
		fmt.Fprintf(stdout, "permissions of %s: %s%s\n", u.Login, strings.Join(got, ","), note)
		return nil
	case "new-key":
		name := fs.String("name", "cli", "a name for the key")
		if err := parse(fs, rest, 1); err != nil {
			return err
		}
		s, done, err := openStore(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer done()
		u, err := s.UserByLogin(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		_, key, err := s.CreateAPIKey(ctx, actor, u.ID, *name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		return nil
	}
	return usageError{fmt.Sprintf("user: unknown subcommand %q", sub)}
}

func bitrixCmd(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "webhook-add" {
		return usageError{"bitrix: expected webhook-add"}
	}
	fs := newFlags("bitrix webhook-add", &cfg, stderr)
	login := fs.String("user", "", "login of the user the webhook acts as (required)")
	scope := fs.String("scope", "crm", "comma-separated scopes (crm, user, …)")
	name := fs.String("name", "", "a name for the webhook")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "how others reach this server, e.g. https://crm.example.ru (env OBMEN_PUBLIC_URL)")
	if err := parse(fs, args[1:], 0); err != nil {
		return err
	}
	if *login == "" {
		return usageError{"bitrix webhook-add: --user is required"}
	}
	s, done, err := openStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer done()
	u, err := s.UserByLogin(ctx, *login)
	if err != nil {
		return err
	}
	hook, code, err := bitrix.NewWebhooks(s.DB()).CreateWebhook(ctx, u.ID, *name, strings.Split(*scope, ","))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, api.BitrixWebhookURL(cfg.BaseURL(), hook.UserID, code))
	return nil
}
