// Package docs holds the project's reference documents, which the code
// cites by section:
//
//   - clearinghouse-api.md: the wire contract of the Seattle Clearinghouse
//     XML-RPC API that the client, the mock and the conformance suite
//     implement ("contract §5.4").
//   - xmlrpc.md: the XML-RPC rules package xmlrpc follows ("spec §9").
//   - nodemanager-api.md: the Seattle node manager protocol that package
//     nodemanager and internal/nmproto implement (cited without a prefix
//     in their files and in files whose path has an element beginning
//     with "nm", as "nodemanager-api.md §6.3" elsewhere).
//
// and the guides: mock.md (the mock clearinghouse), cli.md (the
// command-line client), conformance.md (the conformance runner),
// architecture.md (how the code fits together) and compatibility.md (what
// v1 promises).
//
// The package has no code. Its tests check that every section reference
// in the repository resolves to a heading (or table row) of the reference
// documents (docs_test.go), and keep the README, CONTRIBUTING.md and the
// guides true: the README's size and code blocks, every link, and every
// file and Go name the guides cite (pages_test.go). The commands' own
// tests compare the guides' flag tables and the CLI's session with what
// the commands do.
package docs
