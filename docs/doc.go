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
// The package has no code; its test checks that every section reference in
// the repository resolves to a heading (or table row) of these documents.
package docs
