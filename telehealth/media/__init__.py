"""The node's own media: the aiortc peer behind the pre-call connection test, the desk that
caps and times those peers, and the verdict drawn from a test's figures.

This is the only package of the service that runs WebRTC; the room domain knows nothing of it.
"""
