package sqlcore

import (
	"slices"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// userCache keeps the users read from the registry (GetUser, and the user
// of UserByCert), under writeCache's rules.
type userCache = writeCache[eui.EUI64, store.User]

func newUserCache() *userCache { return newWriteCache[eui.EUI64, store.User](0, cloneUser) }

func cloneUser(u store.User) store.User {
	u.Roles = slices.Clone(u.Roles)
	u.Certs = slices.Clone(u.Certs)
	return u
}
