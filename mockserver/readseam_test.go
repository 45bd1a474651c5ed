package mockserver

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// viewFiles are the files of the views: they read the state only through
// the read seam (readseam.go) and the exported methods.
var viewFiles = []string{"admin.go", "adminguard.go", "status.go"}

// seamMethods are the methods of *state a view may call.
var seamMethods = []string{"stats", "subnetRows", "accountRows"}

// TestViewsUseReadSeam parses the view files and fails if one of them
// reads a *state other than through seamMethods, reaches a Server's state
// (a selector .st) or runs code under the lock itself (update, locked)
// instead of through Server.overview.
func TestViewsUseReadSeam(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	for _, name := range viewFiles {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Names declared as *state: parameters of functions and function
		// literals (a view file gives no other variable these names).
		stateVars := map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			ft, ok := n.(*ast.FuncType)
			if !ok || ft.Params == nil {
				return true
			}
			for _, field := range ft.Params.List {
				if star, ok := field.Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "state" {
						for _, n := range field.Names {
							stateVars[n.Name] = true
						}
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pos := fset.Position(sel.Pos())
			switch sel.Sel.Name {
			case "st", "update", "locked":
				t.Errorf("%s: a view uses .%s; read through Server.overview and the seam", pos, sel.Sel.Name)
			}
			if id, ok := sel.X.(*ast.Ident); ok && stateVars[id.Name] && !slices.Contains(seamMethods, sel.Sel.Name) {
				t.Errorf("%s: a view reads %s.%s; only %v are the read seam", pos, id.Name, sel.Sel.Name, seamMethods)
			}
			return true
		})
	}
}

// TestViewsAgreeOnCounts builds a state with held, dirty, available and
// unusable vessels, behind NAT and not, and checks that GET /admin/state
// and the status page show the counts the exported methods give.
func TestViewsAgreeOnCounts(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 80, NATFraction: 0.25, Seed: 4}),
		WithCleanupDelay(time.Hour), WithAdmin(true))
	a := addUser(t, s, "alice", func(spec *mockapi.AccountSpec) { spec.FreeCredits = 100 })
	addUser(t, s, "banned", func(spec *mockapi.AccountSpec) { spec.Inactive = true })
	handles := acquire(t, s, a, "random", 30)
	mustCall(t, s, "release_resources", auth(a), anyList(handles[:12])) // dirty for an hour
	nodes, _ := listNodes(t, s, NodeFilter{Limit: 6})
	for i, n := range nodes {
		if i%2 == 0 {
			must(t, s.SetNodeActive(n.ID, false))
		} else {
			must(t, s.SetNodeBroken(n.ID, true))
		}
	}

	count := func(state mockapi.VesselState) int {
		t.Helper()
		_, total, err := s.Vessels(VesselFilter{State: state, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	_, all, _ := s.Vessels(VesselFilter{Limit: 1})
	held, dirty, avail, free := count(mockapi.StateOwned), count(mockapi.StateDirty), count(mockapi.StateAvailable), count(mockapi.StateFree)
	if held == 0 || dirty == 0 || avail == 0 || free != all-held {
		t.Fatalf("fixture: %d vessels, %d held, %d dirty, %d available, %d free", all, held, dirty, avail, free)
	}

	var st struct {
		Accounts int `json:"accounts"`
		Nodes    int `json:"nodes"`
		Vessels  struct {
			Total, Owned, Dirty, Available int
		} `json:"vessels"`
	}
	newAdmin(t, s).do("GET", "/admin/state", "", 200, &st)
	if have, want := st.Vessels, (struct{ Total, Owned, Dirty, Available int }{all, held, dirty, avail}); have != want {
		t.Errorf("GET /admin/state vessels: have %+v, want %+v", have, want)
	}
	if st.Accounts != 2 || st.Nodes != 80 {
		t.Errorf("GET /admin/state: %d accounts, %d nodes; want 2 and 80", st.Accounts, st.Nodes)
	}

	itoa := strconv.Itoa
	page := visibleText(statusPageOf(t, s, "/"))
	for _, want := range []string{
		"Vessels " + itoa(all) + " held " + itoa(held) + " (",
		"free " + itoa(free) + " available " + itoa(avail),
		"Accounts 2 banned 1",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
}
